"""The small trained model many tests start from: a seed net fitted quietly on two classes."""

import cnn_numpy as cnn


def trained_seed_net(X, y, epochs: int):
    """``seed_net(2, rng=0)`` after ``epochs`` of Adam (lr 0.01, batch 16, seed 0) on (X, y)."""
    model = cnn.seed_net(2, rng=0)
    cnn.fit(
        model,
        cnn.CrossEntropyLoss(),
        cnn.Adam(model.parameters(), lr=0.01),
        (X, y),
        epochs=epochs,
        batch_size=16,
        rng=0,
        callbacks=[],
    )
    return model
