"""Tests of the evaluation room: the paper's classifier, the registry, folds and metrics."""

import warnings

import numpy as np
import pytest
import torch
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import Pipeline
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC

from gan_oversampling.errors import UserError
from gan_oversampling.evaluation import (
    CLASSIFIERS,
    PaperMLP,
    classifier_names,
    evaluate_fold,
    make_classifier,
    make_folds,
    per_class_scores,
)
from gan_oversampling.evaluation.paper_mlp import (
    ADAM_EPSILON,
    _flat_layers,
    _glorot_uniform_,
    _KerasAdam,
    _write_gradients,
)


def easy_binary(n_rows=800, n_features=8, seed=0):
    """Two well-separated Gaussian blobs; at the paper's 20 epochs the network needs
    a few hundred rows to learn them."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n_rows)
    X = rng.normal(size=(n_rows, n_features)) + 2.0 * y[:, None]
    return X.astype(np.float32), y


def easy_multiclass(n_rows=600, n_features=6, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n_rows)
    centres = 4.0 * rng.normal(size=(n_classes, n_features))
    return (centres[y] + rng.normal(size=(n_rows, n_features))).astype(np.float32), y


def test_paper_mlp_learns_an_easy_binary_problem():
    X, y = easy_binary()
    model = PaperMLP(random_state=0).fit(X[:600], y[:600])
    assert model.score(X[600:], y[600:]) > 0.85
    assert model.loss_curve_[-1] < 0.8 * model.loss_curve_[0]
    assert len(model.loss_curve_) == 20


def test_paper_mlp_learns_three_classes_with_softmax():
    X, y = easy_multiclass()
    model = PaperMLP(random_state=0).fit(X[:450], y[:450])
    probabilities = model.predict_proba(X[450:])
    assert probabilities.shape == (150, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    assert model.score(X[450:], y[450:]) > 0.85


def test_paper_mlp_keeps_original_labels():
    X, y = easy_binary(n_rows=200)
    names = np.array(["a-benign", "b-attack"])[y]  # sorts like 0, 1: the same encoding
    by_name = PaperMLP(random_state=0).fit(X, names)
    by_number = PaperMLP(random_state=0).fit(X, y + 7)
    assert list(by_name.classes_) == ["a-benign", "b-attack"]
    assert list(by_number.classes_) == [7, 8]
    np.testing.assert_array_equal(
        by_name.predict(X), np.array(["a-benign", "b-attack"])[by_number.predict(X) - 7]
    )


def test_binary_probabilities_and_threshold():
    X, y = easy_binary(n_rows=200)
    model = PaperMLP(random_state=1).fit(X, y)
    probabilities = model.predict_proba(X)
    assert probabilities.shape == (len(X), 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    np.testing.assert_array_equal(model.predict(X), (probabilities[:, 1] > 0.5).astype(int))
    assert np.all(PaperMLP(random_state=1, threshold=0.0).fit(X, y).predict(X) == 1)
    assert np.all(PaperMLP(random_state=1, threshold=1.0).fit(X, y).predict(X) == 0)


def test_same_random_state_gives_identical_predictions():
    X, y = easy_binary(n_rows=200)
    first = PaperMLP(random_state=3).fit(X, y).predict_proba(X)
    second = PaperMLP(random_state=3).fit(X, y).predict_proba(X)
    other = PaperMLP(random_state=4).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_fit_does_not_touch_global_random_state():
    X, y = easy_binary(n_rows=50)
    torch.manual_seed(0)
    np.random.seed(0)
    expected_torch, expected_numpy = torch.rand(3), np.random.rand(3)
    torch.manual_seed(0)
    np.random.seed(0)
    PaperMLP(random_state=0, epochs=2).fit(X, y)
    np.testing.assert_array_equal(torch.rand(3), expected_torch)
    np.testing.assert_array_equal(np.random.rand(3), expected_numpy)


def test_validation_split_never_trains_on_the_last_rows():
    X, y = easy_binary(n_rows=101)
    n_kept = int(101 * 0.8)  # Keras: split_at = int(n * (1 - validation_split))
    poisoned_X, poisoned_y = X.copy(), y.copy()
    poisoned_X[n_kept:] = 1e3
    poisoned_y[n_kept:] = 1 - poisoned_y[n_kept:]
    held_out = PaperMLP(random_state=5).fit(poisoned_X, poisoned_y)
    trimmed = PaperMLP(random_state=5, validation_split=0.0).fit(X[:n_kept], y[:n_kept])
    assert held_out.n_trained_rows_ == n_kept == 80
    np.testing.assert_array_equal(held_out.predict_proba(X), trimmed.predict_proba(X))


def test_validation_split_zero_trains_on_every_row():
    X, y = easy_binary(n_rows=50)
    model = PaperMLP(random_state=0, validation_split=0.0).fit(X, y)
    assert model.n_trained_rows_ == 50
    changed_last = X.copy()
    changed_last[-1] += 5.0
    other = PaperMLP(random_state=0, validation_split=0.0).fit(changed_last, y)
    assert not np.array_equal(model.predict_proba(X), other.predict_proba(X))


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_hand_written_gradients_match_autograd(n_outputs):
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(7, 5, generator=generator)
    layers = _flat_layers(5, 4, n_outputs, "cpu")
    layers.flat.copy_(torch.randn(layers.flat.shape, generator=generator))
    if n_outputs == 1:
        targets = torch.randint(0, 2, (7, 1), generator=generator).float()
    else:
        labels = torch.randint(0, n_outputs, (7,), generator=generator)
        targets = torch.nn.functional.one_hot(labels, n_outputs).float()
    grads = _flat_layers(5, 4, n_outputs, "cpu")
    loss = _write_gradients(layers, grads, inputs, targets)

    params = [p.clone().requires_grad_() for p in (layers.kernel_1, layers.bias_1)]
    params += [p.clone().requires_grad_() for p in (layers.kernel_2, layers.bias_2)]
    logits = torch.relu(inputs @ params[0] + params[1]) @ params[2] + params[3]
    if n_outputs == 1:
        reference = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
    else:
        reference = torch.nn.functional.cross_entropy(logits, targets.argmax(dim=1))
    reference.backward()
    assert float(loss) == pytest.approx(reference.item(), rel=1e-5)
    mine = (grads.kernel_1, grads.bias_1, grads.kernel_2, grads.bias_2)
    for hand, auto in zip(mine, params, strict=True):
        torch.testing.assert_close(hand, auto.grad, rtol=1e-5, atol=1e-6)


def test_keras_adam_puts_epsilon_outside_the_bias_correction():
    # Keras adds epsilon to sqrt(v); torch adds it to sqrt(v_hat). After step t they agree
    # only when torch's epsilon is Keras's divided by sqrt(1 - beta2**t).
    grad = torch.tensor([1e-9, -3e-8, 0.5])
    keras_params = torch.zeros(3)
    _KerasAdam(keras_params, learning_rate=1e-3).step(grad)
    torch_params = torch.zeros(3, requires_grad=True)
    torch_adam = torch.optim.Adam([torch_params], lr=1e-3, eps=ADAM_EPSILON / 0.001**0.5)
    torch_params.grad = grad.clone()
    torch_adam.step()
    torch.testing.assert_close(keras_params, torch_params.detach(), rtol=1e-5, atol=1e-12)
    naive = torch.zeros(3, requires_grad=True)
    naive_adam = torch.optim.Adam([naive], lr=1e-3, eps=ADAM_EPSILON)
    naive.grad = grad.clone()
    naive_adam.step()
    assert not torch.allclose(keras_params, naive.detach(), rtol=1e-3, atol=0)


def test_glorot_uniform_bounds_and_zero_biases():
    layers = _flat_layers(784, 10, 1, "cpu")
    _glorot_uniform_(layers.kernel_1, torch.Generator().manual_seed(0))
    limit = (6.0 / (784 + 10)) ** 0.5
    kernel = layers.kernel_1
    assert float(kernel.abs().max()) <= limit
    assert float(kernel.abs().max()) > 0.95 * limit
    assert abs(float(kernel.mean())) < 0.01 * limit
    assert torch.count_nonzero(layers.bias_1) == 0


def test_paper_mlp_in_imblearn_pipeline_under_cross_validate():
    X, y = easy_binary()
    keep = (y == 0) | (np.arange(len(y)) % 3 == 0)  # make class 1 the minority
    pipeline = Pipeline(
        [("oversample", RandomOverSampler(random_state=0)), ("mlp", PaperMLP(random_state=0))]
    )
    scores = cross_validate(pipeline, X[keep], y[keep], cv=3, scoring="balanced_accuracy")
    assert np.all(scores["test_score"] > 0.8)  # cross_validate clones: get_params round-trips


@pytest.mark.parametrize(
    "params",
    [
        {"hidden_units": 0},
        {"epochs": 0},
        {"batch_size": 2.5},
        {"batch_size": True},
        {"learning_rate": 0.0},
        {"learning_rate": float("nan")},
        {"validation_split": 1.0},
        {"validation_split": -0.1},
        {"threshold": 1.5},
        {"device": "no-such-device"},
    ],
)
def test_bad_parameters_raise_at_fit(params):
    X, y = easy_binary(n_rows=20)
    with pytest.raises(ValueError, match=next(iter(params))):
        PaperMLP(**params).fit(X, y)


def _with_cell(X, value):
    X = X.copy()
    X[3, 2] = value
    return X


@pytest.mark.parametrize(
    ("change_X", "change_y", "message"),
    [
        (lambda X: _with_cell(X, np.nan), None, "NaN"),
        (lambda X: _with_cell(X, -np.inf), None, "infinity"),
        (None, lambda y: np.zeros_like(y), "at least 2 classes"),
        (None, lambda y: np.linspace(0, 1, len(y)), "continuous"),
        (lambda X: X[:10], None, "inconsistent numbers of samples"),
    ],
)
def test_bad_training_data_is_rejected(change_X, change_y, message):
    X, y = easy_binary(n_rows=20)
    X = change_X(X) if change_X else X
    y = change_y(y) if change_y else y
    with pytest.raises(ValueError, match=message):
        PaperMLP().fit(X, y)


def test_tiny_data_edges():
    X, y = easy_binary(n_rows=20)
    assert PaperMLP(batch_size=500, epochs=3).fit(X, y).predict(X).shape == (20,)
    with pytest.raises(ValueError, match="no training rows"):
        PaperMLP(validation_split=0.6).fit(np.zeros((2, 3)), np.array([0, 1]))


def test_predict_before_fit_and_with_wrong_width():
    X, y = easy_binary(n_rows=20)
    with pytest.raises(NotFittedError):
        PaperMLP().predict(X)
    model = PaperMLP(epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :3])


@pytest.mark.parametrize(
    ("name", "expected_type"),
    [
        ("paper-mlp", PaperMLP),
        ("logistic-regression", LogisticRegression),
        ("random-forest", RandomForestClassifier),
        ("knn", KNeighborsClassifier),
        ("svm", SVC),
        ("hist-gradient-boosting", HistGradientBoostingClassifier),
    ],
)
def test_make_classifier_builds_fresh_fittable_estimators(name, expected_type):
    first, second = make_classifier(name, random_state=7), make_classifier(name, random_state=7)
    assert type(first) is expected_type
    assert first is not second
    params = first.get_params()
    if "random_state" in params:
        assert params["random_state"] == 7
    X, y = easy_binary(n_rows=400)
    assert first.fit(X, y).score(X, y) > 0.8


def test_registry_settings_match_the_study():
    assert make_classifier("logistic-regression", 0).max_iter == 1000
    forest = make_classifier("random-forest", 0)
    assert (forest.n_estimators, forest.n_jobs) == (100, 1)
    assert make_classifier("knn", 0).n_neighbors == 5
    assert make_classifier("svm", 0).kernel == "rbf"
    assert make_classifier("paper-mlp", 0).get_params() == PaperMLP(random_state=0).get_params()
    boosted = make_classifier("hist-gradient-boosting", 0)
    assert boosted.get_params() == HistGradientBoostingClassifier(random_state=0).get_params()
    assert classifier_names() == list(CLASSIFIERS)
    expected = {"paper-mlp", "logistic-regression", "random-forest", "knn", "svm", "lightgbm",
                "hist-gradient-boosting"}
    assert set(classifier_names()) == expected


def test_lightgbm_is_the_librarys_defaults_on_one_thread():
    lightgbm = pytest.importorskip("lightgbm", reason="the optional lightgbm package")
    model = make_classifier("lightgbm", random_state=7)
    assert isinstance(model, lightgbm.LGBMClassifier)
    assert (model.n_jobs, model.random_state, model.n_estimators) == (1, 7, 100)
    X, y = easy_binary(n_rows=400)
    first = model.fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(make_classifier("lightgbm", 7).fit(X, y).predict_proba(X),
                                  first)
    assert model.score(X, y) > 0.8


def test_lightgbm_without_the_package_is_one_line(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "lightgbm", None)  # makes the import fail
    with pytest.raises(UserError) as caught:
        make_classifier("lightgbm", 0)
    assert "pip install 'gan-oversampling[boosting]'" in str(caught.value)


def test_unknown_classifier_names_the_known_ones():
    with pytest.raises(UserError, match="unknown classifier 'mlp'.*paper-mlp.*svm"):
        make_classifier("mlp", random_state=0)


def imbalanced_labels(n_majority=100, n_minority=10):
    return np.array([0] * n_majority + [1] * n_minority)


def assert_same_folds(folds, expected):
    expected = list(expected)
    assert len(folds) == len(expected)
    for (train, test), (expected_train, expected_test) in zip(folds, expected, strict=True):
        np.testing.assert_array_equal(train, expected_train)
        np.testing.assert_array_equal(test, expected_test)


def test_kfold_folds_equal_sklearn_kfold_exactly_and_repeat():
    y = imbalanced_labels()
    folds = make_folds(y, "kfold", n_splits=5, random_state=0)
    assert_same_folds(folds, KFold(5, shuffle=True, random_state=0).split(np.zeros(len(y))))
    assert_same_folds(folds, make_folds(y, "kfold", n_splits=5, random_state=0))
    assert not np.array_equal(folds[0][1], make_folds(y, random_state=1)[0][1])


@pytest.mark.parametrize("scheme", ["kfold", "stratified"])
def test_folds_partition_the_rows(scheme):
    y = imbalanced_labels()
    folds = make_folds(y, scheme, n_splits=5, random_state=3)
    all_test = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(all_test), np.arange(len(y)))
    for train, test in folds:
        assert train.dtype == test.dtype == np.int64
        np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(len(y)))


def test_kfold_can_leave_a_test_fold_without_minority_rows():
    y = imbalanced_labels(n_majority=40, n_minority=2)
    folds = make_folds(y, "kfold", n_splits=5)
    minority_per_fold = [int(np.sum(y[test] == 1)) for _, test in folds]
    assert 0 in minority_per_fold


def test_stratified_folds_equal_sklearn_and_hold_every_class():
    y = imbalanced_labels()
    folds = make_folds(y, "stratified", n_splits=5, random_state=0)
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    assert_same_folds(folds, splitter.split(np.zeros(len(y)), y))
    assert all(np.sum(y[test] == 1) == 2 for _, test in folds)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_splits": 1}, "n_splits must be >= 2"),
        ({"n_splits": 2.5}, "n_splits must be an integer"),
        ({"n_splits": True}, "n_splits must be an integer"),
        ({"n_splits": 111}, "n_splits=111 is more than the 110 rows"),
        ({"scheme": "group"}, "unknown fold scheme 'group'.*kfold, stratified"),
        ({"y": np.zeros((10, 2))}, "one-dimensional"),
    ],
)
def test_bad_fold_requests_raise_user_error(kwargs, message):
    with pytest.raises(UserError, match=message):
        make_folds(**({"y": imbalanced_labels()} | kwargs))


def test_stratified_with_a_small_class_names_it():
    with pytest.raises(UserError, match="class 1 has 3"):
        make_folds(imbalanced_labels(n_minority=3), "stratified", n_splits=5)
    # Plain k-fold does not care about class sizes.
    assert len(make_folds(imbalanced_labels(n_minority=3), "kfold", n_splits=5)) == 5


def report_rows(y_true, y_pred, labels):
    """classification_report's per-class entries, in per_class_scores's form."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its zero-division warning; the value is still 0
        report = classification_report(y_true, y_pred, labels=labels, output_dict=True)
    renamed = {"precision": "precision", "recall": "recall", "f1": "f1-score"}
    return [
        {"class_label": label, "support": int(report[str(label)]["support"])}
        | {key: pytest.approx(report[str(label)][name]) for key, name in renamed.items()}
        for label in labels
    ]


@pytest.mark.parametrize(
    ("y_true", "y_pred"),
    [
        (np.random.default_rng(0).integers(0, 2, 50), np.random.default_rng(1).integers(0, 2, 50)),
        ([0, 0, 0, 0], [0, 0, 0, 0]),  # test fold without minority rows, none predicted
        ([0, 0, 0, 0], [0, 1, 0, 1]),  # ... some (wrongly) predicted
    ],
)
def test_per_class_scores_match_classification_report(y_true, y_pred):
    scores = per_class_scores(y_true, y_pred)
    assert scores == report_rows(y_true, y_pred, [0, 1])
    assert [row["support"] for row in scores] == [np.sum(np.equal(y_true, c)) for c in (0, 1)]


def test_hand_computed_scores_in_the_given_label_order():
    scores = per_class_scores([0, 0, 0, 1, 1], [0, 1, 0, 1, 0], labels=(1, 0))
    assert [row["class_label"] for row in scores] == [1, 0]
    assert [scores[0][key] for key in ("precision", "recall", "f1")] == pytest.approx([0.5] * 3)
    assert [scores[1][key] for key in ("precision", "recall")] == pytest.approx([2 / 3, 2 / 3])
    assert type(per_class_scores([0], [0], labels=np.array([0]))[0]["class_label"]) is int
    absent = per_class_scores([0, 0, 0, 0], [0, 1, 0, 1])[1]  # no minority row in the fold
    assert absent == {"class_label": 1, "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


@pytest.mark.parametrize(("labels", "message"), [((), "empty"), ((0, 0), "distinct")])
def test_bad_score_labels_raise_user_error(labels, message):
    with pytest.raises(UserError, match=message):
        per_class_scores([0, 1], [0, 1], labels=labels)


def test_evaluate_fold_fits_the_given_estimator_and_scores_it():
    X, y = easy_binary(n_rows=60)
    classifier = DummyClassifier(strategy="constant", constant=0)
    scores = evaluate_fold(classifier, X[:40], y[:40], X[40:], y[40:], labels=(0, 1))
    assert classifier.classes_.tolist() == [0, 1]  # the very object passed was fitted
    assert scores == per_class_scores(y[40:], np.zeros(20, dtype=int))
    assert scores[1]["recall"] == 0.0 and scores[0]["recall"] == 1.0
