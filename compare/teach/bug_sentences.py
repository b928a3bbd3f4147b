"""The bug gallery's names and sentences, in one place that imports nothing.

``compare.teach.bugs`` builds each ``Bug`` with its sentence from here, and the command
line's ``derive --bug list`` prints them without importing the gallery (NumPy, SciPy, the
datasets).
"""

SENTENCES = {
    "seed000_mean_dw": "np.mean(X * (A - Y)) averages over every sample AND feature into one "
                       "number, where dW = (A - Y)ᵀX/m keeps one entry per weight.",
    "seed003_no_sigmoid_factor": "The hidden delta must pass back through the hidden sigmoid: "
                                 "δ_j = (Σ δ_l w_jl) o_j (1 - o_j), and the factor o_j (1 - o_j) "
                                 "is missing.",
    "seed003_update_order": "The hidden delta must read the output weights of the forward "
                            "pass, but they were already updated by the time it was computed.",
    "missing_1_over_m": "The loss is a mean over m samples but its gradient was taken of the "
                        "sum, so every gradient is m times too large.",
    "sign_flip": "tanh' = 1 - a² was written a² - 1, turning the hidden layer's gradient "
                 "around.",
    "relu_prime_at_0_is_1": "At z = 0 relu has no derivative; torch (and handgrad) take 0, and "
                            "taking 1 lets a unit sitting exactly at the kink pass gradient.",
    "softmax_not_fused": "Softmax mixes the entries of a row: its backward needs the whole "
                         "Jacobian diag(a) - a aᵀ (or the fused softmax - onehot), not only "
                         "a (1 - a).",
}
