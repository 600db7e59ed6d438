"""An encoder-decoder with T_x != T_y, built from crnn's parts.

The task: read T_x = 6 digits and answer with the last T_y = 3 of them, reversed.

- The encoder is an RNN over x whose last state a_T is all it passes on (many-to-one,
  without an output layer of its own: ``crnn.rnn_forward`` computes one, which is unused).
- The decoder is a many-to-many RNN started from a_T. In training it reads the previous
  target (teacher forcing, zeros at step 0); ``crnn.rnn_loss_and_grads`` gives its loss,
  gradients and ``da0``, the gradient of a_T.
- ``crnn.pool_states_backward(da0, a, "last")`` turns da0 into the encoder's upstream
  gradient, and ``crnn.rnn_backward`` finishes the encoder.
- At prediction time the decoder runs one step at a time, each output fed back as the
  next input: ``crnn.sample(..., greedy=True)`` (one-to-many).

Run: python examples/encoder_decoder.py
"""

import numpy as np

import crnn

V, T_X, T_Y = 5, 6, 3


def make_data(m, seed):
    """One-hot inputs x (V, m, T_X) and targets y (m, T_Y): x's last T_Y digits, reversed."""
    digits = np.random.default_rng(seed).integers(0, V, (m, T_X))
    return np.eye(V)[digits].transpose(2, 0, 1), digits[:, : T_X - T_Y - 1 : -1]


def init(n_a, seed):
    """Encoder and decoder parameters; the encoder's output layer is unused."""
    rng = np.random.default_rng(seed)
    encoder = crnn.initialize_parameters(V, n_a, 1, method="glorot", seed=rng)
    decoder = crnn.initialize_parameters(V, n_a, V, method="glorot", seed=rng)
    return encoder, decoder


def decoder_inputs(y):
    """Teacher forcing: step t reads the one-hot of target t-1, zeros at step 0."""
    m = y.shape[0]
    x_dec = np.zeros((V, m, T_Y))
    x_dec[:, :, 1:] = np.eye(V)[y[:, :-1]].transpose(2, 0, 1)
    return x_dec


def loss_and_grads(x, y, encoder, decoder):
    """Mean loss over the T_Y outputs and the gradients of both parameter dicts."""
    n_a, m = encoder["Waa"].shape[0], x.shape[1]
    a, _, caches = crnn.rnn_forward(x, np.zeros((n_a, m)), encoder)
    loss, dec_grads = crnn.rnn_loss_and_grads(
        decoder_inputs(y), y, a[:, :, -1], decoder, reduction="mean"
    )
    enc_grads = crnn.rnn_backward(crnn.pool_states_backward(dec_grads["da0"], a, "last"), caches)
    enc_grads["dWya"] = np.zeros_like(encoder["Wya"])
    enc_grads["dby"] = np.zeros_like(encoder["by"])
    return loss, enc_grads, dec_grads


def predict(x, encoder, decoder):
    """Greedy decoding: (m, T_Y) digits."""
    n_a, m = encoder["Waa"].shape[0], x.shape[1]
    a, _, _ = crnn.rnn_forward(x, np.zeros((n_a, m)), encoder)
    return crnn.sample(decoder, a[:, :, -1], T_Y, greedy=True)[0]


def train(steps=600, n_a=32, batch=64, seed=0):
    """Train with Adam on fresh batches; returns the parameters."""
    encoder, decoder = init(n_a, seed)
    opt_enc, opt_dec = crnn.Adam(0.01), crnn.Adam(0.01)
    for step in range(steps):
        x, y = make_data(batch, seed=(seed, step))
        _, enc_grads, dec_grads = loss_and_grads(x, y, encoder, decoder)
        for params, grads, opt in ((encoder, enc_grads, opt_enc), (decoder, dec_grads, opt_dec)):
            crnn.clip_by_global_norm(grads, 5.0, ["d" + k for k in params])
            opt.step(params, grads)
    return encoder, decoder


if __name__ == "__main__":
    encoder, decoder = train()
    x, y = make_data(1000, seed=12345)
    accuracy = np.mean(np.all(predict(x, encoder, decoder) == y, axis=1))
    print(f"sequence accuracy on new data: {accuracy:.3f}")
