"""Data, batching, Sequential, optimizers and the training loop."""

import numpy as np
import pytest

from cnn_numpy import (
    SGD,
    Adam,
    CrossEntropyLoss,
    Linear,
    ReLU,
    Sequential,
    evaluate,
    fit,
    iterate_minibatches,
    predict,
    predict_proba,
    seed_net,
    synthetic_lines,
    train_test_split,
)
from cnn_numpy.train import TrainingDiverged


def test_synthetic_lines_shapes_labels_and_lines():
    """Each image is one line along its class's axis (vertical: label 0): at least half the
    image long, 1 to 6 pixels of ink across, at most 10 degrees off, away from the edges."""
    X, y = synthetic_lines(50, noise=0.0, size=20, rng=0)
    assert X.shape == (100, 1, 20, 20) and X.dtype == np.float32
    assert y.dtype == np.int64 and np.bincount(y).tolist() == [50, 50]
    widths, lengths = [], []
    for img, label in zip(X[:, 0], y):
        along = img if label == 0 else img.T  # rows run along the line
        ink = along.sum(axis=1)  # the ink across the line, row by row
        inked = np.flatnonzero(ink > 0.5)
        lengths.append(len(inked))
        widths.append(np.median(ink[inked]))
        centre = (along[inked] * np.arange(20)).sum(axis=1) / ink[inked]  # (rows,)
        slope = np.polyfit(inked, centre, 1)[0]
        assert abs(slope) <= np.tan(np.radians(10)) + 0.02
        assert 1.5 <= centre.mean() <= 17.5  # at least size // 7 = 2 pixels from the edges
    assert 10 <= min(lengths) and max(lengths) == 20  # half the image to all of it
    assert 0.9 <= min(widths) < 1.5 and 5.5 < max(widths) <= 6.1  # 1 to 6 pixels


def test_synthetic_lines_each_image_draws_its_own_noise_strength():
    """Some images clean, some as noisy as ``noise`` allows (a drawing has no noise at all)."""
    X, _ = synthetic_lines(100, noise=0.3, rng=2)
    speckle = (X[:, 0] > 0.05).mean(axis=(1, 2))  # mostly the background's positive noise
    assert speckle.min() < 0.15 and speckle.max() > 0.3
    clean, _ = synthetic_lines(100, noise=0.0, rng=2)
    assert ((clean > 0) & (clean < 0.02)).mean() < 0.01  # no noise: ink or black


def test_synthetic_lines_noise_range_and_seed():
    X, _ = synthetic_lines(20, noise=0.15, rng=1)
    assert 0.0 <= X.min() and X.max() <= 1.0 and 0 < X.std()
    X2, _ = synthetic_lines(20, noise=0.15, rng=1)
    np.testing.assert_array_equal(X, X2)
    with pytest.raises(ValueError):
        synthetic_lines(0)


def test_minibatches_cover_everything_once_and_shuffle():
    X, y = np.arange(10)[:, None], np.arange(10)
    batches = list(iterate_minibatches(X, y, 4, rng=0))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen) == list(range(10)) and list(seen) != list(range(10))
    np.testing.assert_array_equal(np.concatenate([b[0][:, 0] for b in batches]), seen)
    ordered = np.concatenate([b[1] for b in iterate_minibatches(X, y, 3, shuffle=False)])
    assert list(ordered) == list(range(10))
    with pytest.raises(ValueError, match="3 samples but y has 2"):
        list(iterate_minibatches(X[:3], y[:2], 2))


def test_train_test_split():
    X, y = np.arange(20)[:, None], np.arange(20)
    (Xtr, ytr), (Xte, yte) = train_test_split(X, y, 0.25, rng=0)
    assert len(ytr) == 15 and len(yte) == 5
    assert sorted(np.concatenate([ytr, yte])) == list(range(20))


def test_sequential_state_dict_round_trip_and_errors():
    a, b = seed_net(2, rng=0), seed_net(2, rng=1)
    assert list(a.state_dict()) == ["0.weight", "0.bias", "4.weight", "4.bias"]
    b.load_state_dict(a.state_dict())
    x = np.random.default_rng(0).random((3, 1, 28, 28))
    np.testing.assert_array_equal(a(x), b(x))
    state64 = {k: v.astype(np.float64) for k, v in a.state_dict().items()}
    b.load_state_dict(state64)  # cast to the parameters' dtype
    assert b[0].weight.data.dtype == np.float32
    with pytest.raises(ValueError, match="missing keys"):
        b.load_state_dict({"0.weight": a.state_dict()["0.weight"]})
    bad = a.state_dict()
    bad["4.weight"] = bad["4.weight"][:, :10]
    with pytest.raises(ValueError, match="4.weight"):
        b.load_state_dict(bad)


def test_sequential_parameters_zero_grad_and_modes():
    model = Sequential(Linear(3, 4, rng=0), ReLU(), Linear(4, 2, rng=0))
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    model(np.ones((2, 3)))
    model.backward(np.ones((2, 2)))
    assert any(p.grad.any() for p in model.parameters())
    model.zero_grad()
    assert not any(p.grad.any() for p in model.parameters())
    model.eval()
    assert not model.training and not model[0].training
    assert "Linear(in_features=3, out_features=4)" in repr(model)
    with pytest.raises(ValueError, match="not a Layer"):
        Sequential(Linear(3, 4), "relu")


@pytest.mark.parametrize(
    "make", [lambda p: SGD(p, lr=0.1, momentum=0.9), lambda p: Adam(p, lr=0.01, weight_decay=0.1)]
)
def test_optimizer_state_dict_round_trip(make):
    def run(steps, first=0, restore=None):
        model = Sequential(Linear(3, 2, rng=0))
        opt = make(model.parameters())
        if restore:
            model.load_state_dict(restore[0])
            opt.load_state_dict(restore[1])
        for k in range(first, first + steps):
            opt.zero_grad()
            model(np.full((1, 3), k + 1.0))
            model.backward(np.ones((1, 2)))
            opt.step()
        return model, opt

    full, _ = run(4)
    half, opt = run(2)
    resumed, _ = run(2, first=2, restore=(half.state_dict(), opt.state_dict()))
    np.testing.assert_allclose(resumed[0].weight.data, full[0].weight.data)


def test_optimizer_keeps_float32():
    model = seed_net(2, rng=0)
    for opt in (
        SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3),
        Adam(model.parameters(), weight_decay=1e-3),
    ):
        loss = CrossEntropyLoss()
        loss(model(np.random.default_rng(0).random((2, 1, 28, 28))), np.array([0, 1]))
        model.backward(loss.backward())
        opt.step()
        opt.step()
        assert all(p.data.dtype == np.float32 for p in model.parameters())


def test_optimizer_bad_arguments():
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        Adam(seed_net(2).parameters(), lr=-1)


def test_fit_learns_lines_and_history():
    X, y = synthetic_lines(60, rng=0)
    train, test = train_test_split(X, y, 0.25, rng=1)
    model = seed_net(2, rng=2)
    history = fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.05, momentum=0.9),
        train,
        epochs=4,
        batch_size=8,
        test=test,
        rng=3,
        callbacks=[],
    )
    assert history.epoch == [1, 2, 3, 4] and len(history) == 4
    assert history.loss[-1] < history.loss[0]
    assert history.test_acc[-1] >= 0.95 and evaluate(model, *test) == history.test_acc[-1]
    proba = predict_proba(model, test[0])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(predict(model, test[0]), proba.argmax(axis=1))
    assert model.training  # evaluate() restores the mode it found
    assert history.format_epoch(0).startswith("Epoch 01 | loss=")


def test_fit_same_seed_same_result():
    X, y = synthetic_lines(20, rng=0)

    def run():
        model = seed_net(2, rng=1)
        fit(
            model,
            CrossEntropyLoss(),
            SGD(model.parameters(), lr=0.05),
            (X, y),
            2,
            batch_size=4,
            rng=5,
            callbacks=[],
        )
        return model.state_dict()

    a, b = run(), run()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_fit_reports_divergence():
    X, y = synthetic_lines(20, rng=0)
    model = seed_net(2, rng=0)
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged, match="smaller learning rate"):
        fit(
            model,
            CrossEntropyLoss(),
            SGD(model.parameters(), lr=1e30),
            (X * 1e3, y),
            3,
            batch_size=4,
            rng=0,
            callbacks=[],
        )


def test_a_loss_that_is_nan_before_any_update_does_not_blame_the_learning_rate():
    X, y = synthetic_lines(20, rng=0)

    def run(model):
        with np.errstate(all="ignore"), pytest.raises(TrainingDiverged) as err:
            fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=1e-3), (X, y), 1,
                callbacks=[])  # fmt: skip
        assert "before any update, so the learning rate is not the cause" in str(err.value)
        assert "smaller learning rate" not in str(err.value)
        return str(err.value)

    damaged = seed_net(2, rng=0)
    damaged[0].weight.data[0, 0, 0, 0] = np.nan  # a damaged file, a run that diverged
    assert "the model's 0.weight hold NaN or inf" in run(damaged)
    overflowing = seed_net(2, rng=0)
    overflowing[-1].weight.data[...] = 3e38  # float32's largest: the logits overflow to inf
    assert "output is NaN or inf for these finite images" in run(overflowing)


def test_fit_leaves_every_layer_returning_its_input_gradient():
    """fit skips the first layer's dL/dx for speed; afterwards layer 0 alone still returns it."""
    X, y = synthetic_lines(10, rng=0)
    model = seed_net(2, rng=1)
    fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.01),
        (X, y),
        1,
        batch_size=4,
        rng=2,
        callbacks=[],
    )
    assert model.needs_input_grad and model[0].needs_input_grad
    out = model[0](X[:2])
    assert model[0].backward(np.ones_like(out)).shape == X[:2].shape
    model(X[:2])
    assert model.backward(np.ones((2, 2), dtype=np.float32)).shape == X[:2].shape


def test_fit_records_test_loss_as_cross_entropy_on_the_test_set():
    X, y = synthetic_lines(30, rng=0)
    train, test = train_test_split(X, y, 0.3, rng=1)
    model = seed_net(2, rng=2)
    history = fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.05),
        train,
        2,
        batch_size=8,
        test=test,
        rng=3,
        callbacks=[],
    )
    model.eval()
    expected = CrossEntropyLoss()(model(test[0]).astype(np.float64), test[1])
    assert history.test_loss[-1] == pytest.approx(expected, rel=1e-4)
    assert len(history.test_loss) == 2


def test_predict_and_evaluate_give_each_layer_back_its_own_mode():
    from cnn_numpy import BatchNorm1d, Flatten

    X, y = synthetic_lines(10, size=8, rng=0)
    model = Sequential(Flatten(), Linear(64, 4, rng=0), BatchNorm1d(4), ReLU(), Linear(4, 2, rng=0))
    model.train()
    model[2].eval()  # a frozen BatchNorm: was trained again after predict (model.train(True))
    predict(model, X), evaluate(model, X, y), predict_proba(model, X)
    assert [layer.training for layer in model] == [True, True, False, True, True]
    model.eval()
    model[2].train()
    predict(model, X)
    assert [layer.training for layer in model] == [False, False, True, False, False]
