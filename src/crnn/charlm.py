"""The course's character-level language model ("Dinosaurus Island"), on crnn's kernels.

The same functions, signatures, parameter keys ("Wax", "Waa", "Wya", "b", "by") and
printed output as the course's notebook and its utils.py, so that a learner's code runs
unchanged. ``rnn_forward`` and ``rnn_backward`` here take the course's index lists X and
Y (X starts with None, the zero input) and loop over time inside crnn's kernels; they
are not the top-level ``crnn.rnn_forward`` and ``crnn.rnn_backward``. As in the course,
``initialize_parameters``, ``sample`` and ``model`` seed and draw from numpy's legacy
global random state (``np.random.seed``, ``np.random.randn``, ``np.random.choice``,
``np.random.shuffle``), so that the course's printed results reproduce.
"""

import numpy as np

from crnn import datasets
from crnn.losses import softmax
from crnn.optim import clip as _clip_in_place
from crnn.output_layer import output_layer_backward
from crnn.rnn import rnn_backward as _rnn_backward, rnn_cell_forward, rnn_forward as _rnn_forward

__all__ = [
    "clip",
    "sample",
    "optimize",
    "model",
    "rnn_forward",
    "rnn_backward",
    "update_parameters",
    "initialize_parameters",
    "smooth",
    "get_initial_loss",
    "get_sample",
    "print_sample",
    "run_names_demo",
]

_GRADIENTS = ("dWaa", "dWax", "dWya", "db", "dby")


class _Cache(tuple):
    """rnn_forward's cache, the course's (y_hat, a, x) dicts by step, which also keeps
    crnn's arrays of every step and its caches, for rnn_backward's single kernel call."""

    def __new__(cls, steps, y_hat, a, rnn_caches):
        self = super().__new__(cls, steps)
        self.y_hat, self.a, self.rnn_caches = y_hat, a, rnn_caches
        return self


def _fused(parameters):
    """The course's character-model dict under the names crnn's RNN functions read (b -> ba)."""
    return {
        "Wax": parameters["Wax"],
        "Waa": parameters["Waa"],
        "Wya": parameters["Wya"],
        "ba": parameters["b"],
        "by": parameters["by"],
    }


def clip(gradients, maxValue):
    """Clip every entry of the gradients to [-maxValue, maxValue], in place.

    Arguments:
    gradients -- dict with "dWaa", "dWax", "dWya", "db", "dby"
    maxValue -- the bound

    Returns:
    gradients -- a dict of those five, clipped (the same arrays)
    """
    return _clip_in_place({k: gradients[k] for k in _GRADIENTS}, maxValue)


def initialize_parameters(n_a, n_x, n_y):
    """The course's initial parameters: np.random.seed(1), randn * 0.01, zero biases.

    Returns:
    parameters -- dict with "Wax" (n_a, n_x), "Waa" (n_a, n_a), "Wya" (n_y, n_a),
                  "b" (n_a, 1), "by" (n_y, 1)
    """
    np.random.seed(1)
    Wax = np.random.randn(n_a, n_x) * 0.01
    Waa = np.random.randn(n_a, n_a) * 0.01
    Wya = np.random.randn(n_y, n_a) * 0.01
    return {"Wax": Wax, "Waa": Waa, "Wya": Wya, "b": np.zeros((n_a, 1)), "by": np.zeros((n_y, 1))}


def smooth(loss, cur_loss):
    """The exponential average of the loss the course prints: loss·0.999 + cur_loss·0.001."""
    return loss * 0.999 + cur_loss * 0.001


def get_initial_loss(vocab_size, seq_length):
    """The loss of uniform guesses over seq_length characters: -log(1/vocab_size)·seq_length."""
    return -np.log(1.0 / vocab_size) * seq_length


def get_sample(sample_ix, ix_to_char):
    """The sampled characters as a string, its first letter upper-case."""
    txt = "".join(ix_to_char[ix] for ix in sample_ix)
    return txt[0].upper() + txt[1:]


def print_sample(sample_ix, ix_to_char):
    """Print get_sample(sample_ix, ix_to_char) without a line break."""
    print(get_sample(sample_ix, ix_to_char), end="")


def sample(parameters, char_to_ix, seed, temperature=1.0):
    """Sample a sequence of characters, one step at a time, feeding each back as the next input.

    Step t draws with np.random.seed(t + seed) and then seed is raised by one, as in the
    course; sampling stops at the newline character or after 50 characters, when a
    newline is appended.

    Arguments:
    parameters -- dict with "Waa", "Wax", "Wya", "by", "b"
    char_to_ix -- dict mapping each character to its index
    seed -- the course's seed, for reproducible draws
    temperature -- (crnn's addition) the draws are from softmax(z / temperature); 1 is the course's

    Returns:
    indices -- list of the sampled characters' indices
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    fused = _fused(parameters)
    vocab_size = parameters["by"].shape[0]
    x = np.zeros((vocab_size, 1))
    a_prev = np.zeros((parameters["Waa"].shape[1], 1))
    indices = []
    idx = -1
    counter = 0
    newline_character = char_to_ix["\n"]
    while idx != newline_character and counter != 50:
        a, y, _ = rnn_cell_forward(x, a_prev, fused)
        if temperature != 1.0:
            y = softmax((parameters["Wya"] @ a + parameters["by"]) / temperature)
        np.random.seed(counter + seed)
        idx = np.random.choice(list(range(vocab_size)), p=y.ravel())
        indices.append(idx)
        x = np.zeros((vocab_size, 1))
        x[idx] = 1
        a_prev = a
        seed += 1
        counter += 1
    if counter == 50:
        indices.append(char_to_ix["\n"])
    return indices


def rnn_forward(X, Y, a0, parameters, vocab_size=27):
    """The forward pass over one name and its loss, the sum over the steps of -log ŷ[Y[t]].

    Arguments:
    X -- list of input indices; None is the zero vector (the course's X starts with it)
    Y -- list of target indices, as long as X
    a0 -- initial hidden state, (n_a, 1)
    parameters -- dict with "Wax", "Waa", "Wya", "b", "by"
    vocab_size -- the number of characters

    Returns:
    loss -- the cross-entropy, summed over the steps
    cache -- (y_hat, a, x), dicts by step t of ŷ (vocab_size, 1), a (n_a, 1) (a[-1] is
             a0) and the one-hot x (vocab_size, 1)
    """
    T = len(X)
    if len(Y) != T:
        raise ValueError(f"X and Y must be equally long, got {T} and {len(Y)} indices")
    x = np.zeros((vocab_size, 1, T), order="F")
    for t, ix in enumerate(X):
        if ix is not None:
            x[ix, 0, t] = 1
    a, y_hat, caches = _rnn_forward(x, a0, _fused(parameters))
    loss = -np.sum(np.log(y_hat[list(Y), 0, np.arange(T)]))
    a_steps = {t: a[:, :, t] for t in range(T)}
    a_steps[-1] = np.copy(a0)
    steps = ({t: y_hat[:, :, t] for t in range(T)}, a_steps, {t: x[:, :, t] for t in range(T)})
    return loss, _Cache(steps, y_hat, a, caches)


def rnn_backward(X, Y, parameters, cache):
    """The gradients of rnn_forward's loss, back through every step in one kernel call.

    Arguments:
    X, Y -- as for rnn_forward
    parameters -- dict with "Wax", "Waa", "Wya", "b", "by"
    cache -- the cache rnn_forward returned

    Returns:
    gradients -- dict with "dWax", "dWaa", "dWya", "db", "dby" and "da_next", the
                 gradient that reaches a0
    a -- the hidden states by step, from the cache
    """
    if not isinstance(cache, _Cache):
        raise TypeError(
            f"cache must be the cache crnn.charlm.rnn_forward returned, got {type(cache).__name__}"
        )
    T = len(X)
    dy = cache.y_hat.copy(order="K")  # the layout of y_hat and a, the RNN kernels'
    dy[list(Y), 0, np.arange(T)] -= 1  # dz = ŷ - one_hot(Y): softmax and cross-entropy together
    head = output_layer_backward(dy, cache.a, _fused(parameters))
    body = _rnn_backward(head["da"], cache.rnn_caches)
    gradients = {
        "dWax": body["dWax"],
        "dWaa": body["dWaa"],
        "dWya": head["dWya"],
        "db": body["dba"],
        "dby": head["dby"],
        "da_next": body["da0"],
    }
    return gradients, cache[1]


def update_parameters(parameters, gradients, lr):
    """One step of gradient descent, in place: W -= lr·dW for every parameter.

    Returns:
    parameters -- the same dict
    """
    for key in ("Wax", "Waa", "Wya", "b", "by"):
        parameters[key] += -lr * gradients["d" + key]
    return parameters


def optimize(X, Y, a_prev, parameters, learning_rate=0.01):
    """One training step: forward, backward, clip the gradients to [-5, 5], update.

    Arguments:
    X -- list of input indices, e.g. [None, 3, 5, ...]
    Y -- list of target indices, X shifted left by one, e.g. [3, 5, ..., newline]
    a_prev -- the previous hidden state, (n_a, 1)
    parameters -- dict with "Wax", "Waa", "Wya", "b", "by", updated in place
    learning_rate -- the step size

    Returns:
    loss -- the cross-entropy loss of the name
    gradients -- dict with "dWax", "dWaa", "dWya", "db", "dby", clipped
    a[len(X)-1] -- the last hidden state, (n_a, 1)
    """
    loss, cache = rnn_forward(X, Y, a_prev, parameters, parameters["Wax"].shape[1])
    gradients, a = rnn_backward(X, Y, parameters, cache)
    gradients = clip(gradients, 5)
    parameters = update_parameters(parameters, gradients, learning_rate)
    return loss, gradients, a[len(X) - 1]


def model(
    data_x,
    ix_to_char,
    char_to_ix,
    num_iterations=35000,
    n_a=50,
    dino_names=7,
    vocab_size=27,
    verbose=False,
):
    """Train the character-level model on a list of names, printing samples as it goes.

    One name per iteration, in an order shuffled by np.random.seed(0); every 2000
    iterations it prints the smoothed loss and dino_names samples, as the course does.

    Arguments:
    data_x -- list of names (one string per name)
    ix_to_char, char_to_ix -- the character <-> index maps, "\\n" included
    num_iterations -- training steps
    n_a -- hidden units
    dino_names -- samples printed every 2000 iterations
    vocab_size -- the number of characters
    verbose -- print the first examples' inputs, as the course's notebook does

    Returns:
    parameters -- the learned parameters
    last_dino_name -- the last name sampled
    """
    n_x, n_y = vocab_size, vocab_size
    parameters = initialize_parameters(n_a, n_x, n_y)
    loss = get_initial_loss(vocab_size, dino_names)
    examples = [x.strip() for x in data_x]
    np.random.seed(0)
    np.random.shuffle(examples)
    a_prev = np.zeros((n_a, 1))
    last_dino_name = "abc"
    for j in range(num_iterations):
        idx = j % len(examples)
        single_example = examples[idx]
        single_example_chars = list(single_example)
        single_example_ix = [char_to_ix[c] for c in single_example_chars]
        X = [None, *single_example_ix]
        ix_newline = char_to_ix["\n"]
        Y = [*X[1:], ix_newline]
        curr_loss, gradients, a_prev = optimize(X, Y, a_prev, parameters, learning_rate=0.01)
        if verbose and j in [0, len(examples) - 1, len(examples)]:
            print("j = ", j, "idx = ", idx)
        if verbose and j in [0]:
            print("single_example =", single_example)
            print("single_example_chars", single_example_chars)
            print("single_example_ix", single_example_ix)
            print(" X = ", X, "\n", "Y =       ", Y, "\n")
        loss = smooth(loss, curr_loss)
        if j % 2000 == 0:
            print(f"Iteration: {j}, Loss: {loss:f}" + "\n")
            seed = 0
            for _ in range(dino_names):
                sampled_indices = sample(parameters, char_to_ix, seed)
                last_dino_name = get_sample(sampled_indices, ix_to_char)
                print(last_dino_name.replace("\n", ""))
                seed += 1  # the same names each time, for comparing
            print("\n")
    return parameters, last_dino_name


def run_names_demo(iterations=20000, n_a=50, temperature=1.0, samples=10, seed=0, out=print):
    """Train the course's model on crnn's first names and sample new ones.

    Arguments:
    iterations -- training steps, one name each
    n_a -- hidden units
    temperature -- of the final samples
    samples -- how many names to sample at the end
    seed -- the first sample's seed (the k-th uses seed + k)
    out -- where the final lines go (model prints its progress itself, as in the course)

    Returns:
    0, the exit status
    """
    first, _ = datasets.load_names()
    data = [name.lower() for name in first]
    chars = sorted(set("".join(data)) | {"\n"})
    char_to_ix = {ch: i for i, ch in enumerate(chars)}
    ix_to_char = dict(enumerate(chars))
    out(
        f"{len(data)} first names (US Census 1990), {len(chars)} characters; "
        f"{iterations} iterations of the course's model with n_a = {n_a}"
    )
    parameters, _ = model(data, ix_to_char, char_to_ix, iterations, n_a, 7, len(chars))
    known = set(data)
    out(f"{samples} new names at temperature {temperature}:")
    for k in range(samples):
        name = get_sample(sample(parameters, char_to_ix, seed + k, temperature), ix_to_char).strip()
        out(f"  {name}" + ("  (in the training list)" if name.lower() in known else ""))
    return 0
