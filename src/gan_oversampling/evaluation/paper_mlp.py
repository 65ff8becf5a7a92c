"""The study's classifier: a one-hidden-layer dense network, as the original Keras 2 code ran it.

Network: Dense(hidden, relu) -> Dense(1, sigmoid) with binary cross-entropy for two
classes (the paper), Dense(n_classes, softmax) with categorical cross-entropy for more.
Kernels start glorot-uniform, biases at zero; Adam with Keras's defaults.

The gradient of both losses with respect to the output pre-activation is
``(probability - target) / batch``, so the two layers' backward pass is written out
by hand: at this size autograd and ``nn.Module`` bookkeeping cost more than the
arithmetic. benchmarks/bench_classifier.py measured a whole ``fit`` at the study's shapes
(140-1,400 rows, 16-784 features, one thread) 1.8-2.5x slower with autograd over the same
flat parameters and Adam, and 2.5-3.8x slower with ``nn.Linear`` layers; all three end
with bit-identical weights. The Adam is written out because Keras adds epsilon to sqrt(v)
and torch's Adam to the bias-corrected sqrt(v_hat).

Keras 2's ``model.fit`` also computes binary cross-entropy from the
sigmoid's logits (it recognises the sigmoid op in its graph), so computing the loss
from logits here is faithful, not only numerically convenient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

# Keras 2 Adam defaults (epsilon is Keras's 1e-7, not torch's 1e-8).
ADAM_BETA_1 = 0.9
ADAM_BETA_2 = 0.999
ADAM_EPSILON = 1e-7


@dataclass
class _Layers:
    """Parameters of the two dense layers, all views into one flat tensor.

    Keeping every parameter (and every gradient) in one contiguous buffer lets an Adam
    step run as a handful of whole-buffer operations instead of one set per tensor.
    """

    flat: torch.Tensor
    kernel_1: torch.Tensor
    bias_1: torch.Tensor
    kernel_2: torch.Tensor
    bias_2: torch.Tensor


def _flat_layers(n_features: int, n_hidden: int, n_outputs: int, device: str) -> _Layers:
    shapes = [(n_features, n_hidden), (n_hidden,), (n_hidden, n_outputs), (n_outputs,)]
    sizes = [int(np.prod(shape)) for shape in shapes]
    flat = torch.zeros(sum(sizes), dtype=torch.float32, device=device)
    views = []
    start = 0
    for shape, size in zip(shapes, sizes, strict=True):
        views.append(flat[start : start + size].view(shape))
        start += size
    return _Layers(flat, *views)


def _glorot_uniform_(kernel: torch.Tensor, generator: torch.Generator) -> None:
    fan_in, fan_out = kernel.shape
    limit = float(np.sqrt(6.0 / (fan_in + fan_out)))
    values = torch.rand(kernel.shape, generator=generator, dtype=torch.float32)
    kernel.copy_(values.mul_(2.0 * limit).sub_(limit))


class _KerasAdam:
    """Adam in the form Keras 2 applies it: epsilon is added to sqrt(v), not sqrt(v_hat)."""

    def __init__(self, params: torch.Tensor, learning_rate: float) -> None:
        self.params = params
        self.learning_rate = learning_rate
        self.first_moment = torch.zeros_like(params)
        self.second_moment = torch.zeros_like(params)
        self.step_count = 0

    def step(self, grad: torch.Tensor) -> None:
        self.step_count += 1
        bias_1 = 1.0 - ADAM_BETA_1**self.step_count
        bias_2 = 1.0 - ADAM_BETA_2**self.step_count
        step_size = self.learning_rate * (bias_2**0.5) / bias_1
        self.first_moment.mul_(ADAM_BETA_1).add_(grad, alpha=1.0 - ADAM_BETA_1)
        self.second_moment.mul_(ADAM_BETA_2).addcmul_(grad, grad, value=1.0 - ADAM_BETA_2)
        denominator = self.second_moment.sqrt().add_(ADAM_EPSILON)
        self.params.addcdiv_(self.first_moment, denominator, value=-step_size)


def _output_logits(layers: _Layers, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    hidden = torch.addmm(layers.bias_1, inputs, layers.kernel_1).clamp_(min=0.0)
    return hidden, torch.addmm(layers.bias_2, hidden, layers.kernel_2)


def _probabilities(logits: torch.Tensor) -> torch.Tensor:
    if logits.shape[1] == 1:
        return torch.sigmoid(logits)
    return torch.softmax(logits, dim=1)


def _batch_loss(
    logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean cross-entropy of the batch, computed from logits (stable for large |logit|).

    With per-row `weights` (column), each row's loss is weighted and the sum divided by
    the batch size, as Keras reduces a loss with class or sample weights."""
    if logits.shape[1] == 1:
        per_row = torch.nn.functional.softplus(logits) - targets * logits
    else:
        per_row = -(targets * torch.log_softmax(logits, dim=1)).sum(dim=1, keepdim=True)
    if weights is not None:
        per_row = per_row * weights
    return per_row.mean()


def _write_gradients(
    layers: _Layers,
    grads: _Layers,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Forward and backward pass of one batch; fills ``grads`` and returns the batch loss.

    `weights`: one weight per row (a column), or None for an unweighted loss."""
    hidden, logits = _output_logits(layers, inputs)
    loss = _batch_loss(logits, targets, weights)
    d_logits = _probabilities(logits) - targets
    if weights is not None:
        d_logits.mul_(weights)
    d_logits.div_(inputs.shape[0])
    torch.mm(hidden.T, d_logits, out=grads.kernel_2)
    torch.sum(d_logits, dim=0, out=grads.bias_2)
    d_hidden = torch.mm(d_logits, layers.kernel_2.T).mul_(hidden > 0)
    torch.mm(inputs.T, d_hidden, out=grads.kernel_1)
    torch.sum(d_hidden, dim=0, out=grads.bias_1)
    return loss


class PaperMLP(ClassifierMixin, BaseEstimator):
    """Small dense network trained like the original Keras model of the study.

    Parameters
    ----------
    hidden_units : int, default=10
        Width of the ReLU hidden layer.
    epochs : int, default=20
        Passes over the kept training rows.
    batch_size : int, default=32
        Rows per Adam step; the last, smaller batch of an epoch is used too.
    learning_rate : float, default=1e-3
        Adam step size.
    validation_split : float, default=0.2
        Fraction of the training rows, taken from the END of the arrays as given, that
        is held back and never trained on (Keras's ``validation_split``). The held-back
        rows only served for monitoring in the original, so they are not evaluated.
        0 trains on every row.
    threshold : float, default=0.5
        Binary problems: the second class is predicted when its probability exceeds it.
    class_weight : dict, "balanced" or None, default=None
        Weights of each class in the loss, as in scikit-learn: "balanced" weighs a class
        by n_rows / (n_classes * its rows) of the training rows given. None: unweighted.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and the per-epoch shuffles.
    device : str, default="cpu"
        Torch device on which to train and predict.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    n_trained_rows_ : int
        Rows actually trained on, after the validation hold-back.
    loss_curve_ : list of float
        Mean training loss of each epoch's batches.
    """

    def __init__(
        self,
        hidden_units: int = 10,
        epochs: int = 20,
        batch_size: int = 32,
        learning_rate: float = 1e-3,
        validation_split: float = 0.2,
        threshold: float = 0.5,
        class_weight=None,
        random_state=None,
        device: str = "cpu",
    ) -> None:
        self.hidden_units = hidden_units
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_split = validation_split
        self.threshold = threshold
        self.class_weight = class_weight
        self.random_state = random_state
        self.device = device

    def fit(self, X, y):
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"PaperMLP needs at least 2 classes in y; got only {self.classes_.tolist()!r}."
            )
        n_kept = self._kept_row_count(len(y))
        self.n_trained_rows_ = n_kept
        generator = self._torch_generator()
        inputs = torch.from_numpy(np.ascontiguousarray(X[:n_kept])).to(self.device)
        targets = self._target_tensor(encoded[:n_kept]).to(self.device)
        weights = self._row_weights(y, n_kept)
        self._layers = self._initial_layers(X.shape[1], generator)
        self.loss_curve_ = self._train(inputs, targets, generator, weights)
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "classes_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        inputs = torch.from_numpy(X).to(self.device)
        with torch.no_grad():
            probabilities = _probabilities(_output_logits(self._layers, inputs)[1])
        probabilities = probabilities.cpu().numpy().astype(np.float64)
        if len(self.classes_) == 2:
            return np.hstack([1.0 - probabilities, probabilities])
        return probabilities

    def predict(self, X):
        probabilities = self.predict_proba(X)
        if len(self.classes_) == 2:
            return self.classes_[(probabilities[:, 1] > self.threshold).astype(np.intp)]
        return self.classes_[np.argmax(probabilities, axis=1)]

    def _check_params(self) -> None:
        for name in ("hidden_units", "epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1; got {value!r}.")
        if not np.isfinite(self.learning_rate) or self.learning_rate <= 0:
            raise ValueError(
                f"learning_rate must be a positive number; got {self.learning_rate!r}."
            )
        if not 0.0 <= self.validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1); got {self.validation_split!r}.")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1]; got {self.threshold!r}.")
        if not (self.class_weight is None or self.class_weight == "balanced"
                or isinstance(self.class_weight, dict)):
            raise ValueError(
                f"class_weight must be None, 'balanced' or a dict; got {self.class_weight!r}."
            )
        try:
            torch.device(self.device)
        except (RuntimeError, TypeError) as error:
            raise ValueError(f"device must name a torch device; got {self.device!r}.") from error

    def _kept_row_count(self, n_rows: int) -> int:
        # Keras: split_at = int(n * (1 - validation_split)); rows from split_at on are held out.
        n_kept = int(n_rows * (1.0 - self.validation_split))
        if n_kept < 1:
            raise ValueError(
                f"validation_split={self.validation_split} leaves no training rows out of {n_rows}."
            )
        return n_kept

    def _row_weights(self, y: np.ndarray, n_kept: int) -> torch.Tensor | None:
        """Each kept row's class weight (a column), from the classes of every row given."""
        if self.class_weight is None:
            return None
        weights = compute_sample_weight(self.class_weight, y)[:n_kept]
        return torch.from_numpy(weights.astype(np.float32)).unsqueeze(1).to(self.device)

    def _torch_generator(self) -> torch.Generator:
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        return torch.Generator(device="cpu").manual_seed(seed)

    def _target_tensor(self, encoded: np.ndarray) -> torch.Tensor:
        encoded_tensor = torch.from_numpy(encoded.astype(np.int64))
        if len(self.classes_) == 2:
            return encoded_tensor.to(torch.float32).unsqueeze(1)
        return torch.nn.functional.one_hot(encoded_tensor, len(self.classes_)).to(torch.float32)

    def _initial_layers(self, n_features: int, generator: torch.Generator) -> _Layers:
        n_outputs = 1 if len(self.classes_) == 2 else len(self.classes_)
        layers = _flat_layers(n_features, self.hidden_units, n_outputs, "cpu")
        _glorot_uniform_(layers.kernel_1, generator)
        _glorot_uniform_(layers.kernel_2, generator)
        # Drawn on the CPU generator, so a seed gives the same start on every device.
        return _flat_layers_on(layers, self.device)

    def _train(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        generator: torch.Generator,
        weights: torch.Tensor | None = None,
    ) -> list[float]:
        layers = self._layers
        n_outputs = layers.bias_2.shape[0]
        grads = _flat_layers(inputs.shape[1], self.hidden_units, n_outputs, self.device)
        optimiser = _KerasAdam(layers.flat, float(self.learning_rate))
        n_rows = inputs.shape[0]
        loss_curve = []
        with torch.no_grad():
            for _ in range(self.epochs):
                order = torch.randperm(n_rows, generator=generator).to(self.device)
                # One gather per epoch, then contiguous slices: cheaper than a gather per batch.
                epoch_inputs, epoch_targets = inputs[order], targets[order]
                epoch_weights = None if weights is None else weights[order]
                weighted_loss = torch.zeros((), device=self.device)
                for start in range(0, n_rows, self.batch_size):
                    stop = start + self.batch_size
                    batch_inputs = epoch_inputs[start:stop]
                    batch_weights = None if weights is None else epoch_weights[start:stop]
                    loss = _write_gradients(layers, grads, batch_inputs,
                                            epoch_targets[start:stop], batch_weights)
                    optimiser.step(grads.flat)
                    weighted_loss += loss * batch_inputs.shape[0]
                loss_curve.append(float(weighted_loss) / n_rows)
        return loss_curve


def _flat_layers_on(layers: _Layers, device: str) -> _Layers:
    n_features, n_hidden = layers.kernel_1.shape
    moved = _flat_layers(n_features, n_hidden, layers.bias_2.shape[0], device)
    moved.flat.copy_(layers.flat)
    return moved
