"""Every number handgrad takes from the five tutorials it grew from, in one place.

The tutorials are called by number, as the docs and the tests do (docs/glossary.md):

seed 000  "Building a neuron": a logistic-regression neuron from first principles, the
          cross-entropy gradient (A - Y)ᵀX/m, on a 3 x 2 example written features x samples.
          Its slips: ``dW = np.mean(X * (A - Y))`` (a scalar), labels that do not match the
          samples, the average said to be over parameters. Bug ``seed000_mean_dw``.
seed 001  logistic regression as a one-neuron network: the computation graph forward and
          backward, an image flattened to a feature vector, loops against vectorized code.
seed 002  a perceptron and a sigmoid neuron on a 2-D cats-and-dogs problem, the decision
          boundary animated as they learn (handgrad's ``cats_dogs`` set stands in for its CSV).
seed 003  a 3-2-1 sigmoid network in raw Python, one backpropagation step with ½(t - y)².
          Its slips: the hidden delta without o(1 - o), the output weights updated before the
          hidden layer reads them. Bugs ``seed003_no_sigmoid_factor``, ``seed003_update_order``.
seed 004  from logistic regression to a multi-layer perceptron: XOR (one neuron needs the
          feature x1*x2; a hidden layer learns it), softmax with cross-entropy, the
          parameters of a 1024-500-10 network.

Everything here is plain data (tuples of floats), read by ``compare.datasets``,
``compare.teach.derive`` and ``compare.teach.bugs``; the tests write their own copies out
independently, as witnesses.
"""

from __future__ import annotations

# --- seed 000: the logistic neuron ------------------------------------------------------

# The example X as printed: 3 rows = features, 2 columns = samples (the textbook layout).
# handgrad's X is its transpose, (2 samples, 3 features).
SEED000_X_TEXTBOOK = ((1.0, 2.0), (3.0, 4.0), (5.0, 6.0))
SEED000_Y = (0.0, 1.0)  # one label per sample
SEED000_Y_PRINTED = ((0.0,), (1.0,), (1.0,))  # the tutorial's Y: 3 labels for 2 samples (a slip)

# --- seed 001: logistic regression as a network -----------------------------------------

SEED001_IMAGE_SHAPE = (7, 5, 3)  # height x width x colour, flattened to 7*5*3 = 105 features

# --- seed 002: the perceptron, one batch step ------------------------------------------------

# docs/derivations/perceptron.md's worked example: W = (1, -1), b = 0, lr 0.5, and two samples
# of class 1, the first on the boundary (z = 0), the second misclassified (z = -2).
PERCEPTRON_W = ((1.0, -1.0),)
PERCEPTRON_B = (0.0,)
PERCEPTRON_LR = 0.5
PERCEPTRON_X = ((2.0, 2.0), (1.0, 3.0))
PERCEPTRON_Y = (1.0, 1.0)

# --- seed 003: the 3-2-1 network, one step -----------------------------------------------

SEED003_INPUT = (1.0, 2.0, 3.0)  # its one sample
SEED003_TARGET = 1.0  # t
SEED003_LR = 0.1  # its learning rate
# The weights it prints before its step: hidden neurons (one row each) and the output neuron.
SEED003_W1 = ((-0.41451339, -1.77081177, -1.15804613),
              (-1.78363994, -1.89654933, -0.46369448))
SEED003_W2 = ((-0.43875046, 0.81212614),)
# Its biases are drawn at random and never printed; these are handgrad's choice.
SEED003_B1 = (0.3, 0.6)
SEED003_B2 = (0.2,)
SEED003_PARAMS = {"layers.0.weight": SEED003_W1, "layers.0.bias": SEED003_B1,
                  "layers.1.weight": SEED003_W2, "layers.1.bias": SEED003_B2}

# --- seed 004: XOR, softmax, counting ------------------------------------------------------

XOR_X = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))  # the corners of {0,1}^2
XOR_Y = (0.0, 1.0, 1.0, 0.0)  # x1 XOR x2
# With the third feature x3 = x1*x2, one logistic neuron separates XOR with these weights.
XOR3_BIAS = -0.5
XOR3_WEIGHTS = (1.0, 1.0, -2.0)
SEED004_SIZES = (1024, 500, 10)  # the network whose weights and biases it counts

# handgrad's example for seed 004's softmax with cross-entropy (handgrad derive softmax):
# one sample whose logits are these, of class 0.
SOFTMAX_Z = (2.0, 1.0, 0.1)  # docs/derivations/softmax_cross_entropy.md's logits, class 0
SOFTMAX_Y = (0,)
