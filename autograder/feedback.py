"""Feedback reports for students: per function, the verdict and the message; and plots.

The plots show the student's own code at work on held-out problems next to the reference:
a loss curve, a descent path on a contour plot, the batch-size comparison.  They show
curves and paths, never the hidden data or the checks' code.  Each plot is drawn from plain
data the sandbox returns.  Every report has all its plots: the reference is always drawn,
and when the student's function fails, or its data makes the picture degenerate (a path
that is one dot, a flat curve), the caption says so in a sentence.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import reference
from .landscapes import Quadratic, random_spd, regression
from .results import GradedSubmission, markdown_text, write_atomic
from .suites.framework import Fail, as_array, call, seeded
from .wire import Rng


@dataclass
class Plot:
    name: str
    title: str
    caption: str
    png: bytes


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    plt = _figure()
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


# ------------------------------------------------------------------------------ the plots
#
# Every plot draws the reference, and the student's curve where their code gives one; when it
# does not, or when their data makes the picture degenerate (a path that is one dot, a curve
# that leaves the axes), the caption says why in a sentence.  So every report has its plots.


def _yours(fn: str, thunk: Callable[[], np.ndarray]) -> tuple[np.ndarray | None, str]:
    """The student's data for a plot, or None and the sentence that says why it is missing."""
    try:
        return thunk(), ""
    except Fail as fail:
        return None, f"Your `{fn}` is not drawn: {_sentence(str(fail))}"
    except Exception as exc:  # noqa: BLE001 - a strange return value must not stop the report
        return None, f"Your `{fn}` is not drawn: it returned something we could not draw ({type(exc).__name__})."


def _sentence(message: str) -> str:
    message = message.strip()
    return message if message.endswith(".") else message + "."


def _not_finite(fn: str, values) -> str:
    if np.all(np.isfinite(values)):
        return ""
    return f"Your `{fn}` produced inf or nan, so its curve stops where the numbers overflow."


def _gradients_plot(sub) -> Plot:
    plt = _figure()
    rng = seeded("feedback-gradients")
    X, y = regression(40, 4, rng)
    w = rng.normal(size=4)
    labels = (y > np.median(y)).astype(float)
    rows = [
        (
            "mse_gradient",
            lambda: as_array("mse_gradient", call(sub, "mse_gradient", w, X, y), (4,)),
            reference.mse_gradient(w, X, y),
        ),
        (
            "logistic_gradient",
            # l2 = 0: with a penalty, a flipped data term does not mirror every bar
            lambda: as_array("logistic_gradient", call(sub, "logistic_gradient", w, X, labels, l2=0.0), (4,)),
            reference.logistic_gradient(w, X, labels, 0.0),
        ),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    notes = []
    for ax, (name, thunk, want) in zip(axes, rows):
        got, why = _yours(name, thunk)
        idx = np.arange(4)
        ax.bar(idx - 0.2, want, width=0.4, label="correct", color="#999999")
        if got is not None:
            ax.bar(
                idx + 0.2,
                np.nan_to_num(got, nan=0.0, posinf=0.0, neginf=0.0),
                width=0.4,
                label="yours",
                color="#4C72B0",
            )
            notes.append(_not_finite(name, got))
        notes.append(why)
        ax.axhline(0, color="black", lw=0.5)
        ax.set_xticks(idx, [f"w[{i}]" for i in idx])
        ax.set_title(name)
        ax.legend(fontsize=8)
    caption = (
        "Each bar is one partial derivative at the same weights. Bars of the opposite sign mean your "
        "gradient points the wrong way; bars of another height, a missing factor."
    )
    return Plot("gradients", "Your gradients next to the correct ones", _caption(caption, notes), _png(fig))


def _caption(text: str, notes: list[str]) -> str:
    extra = [n for n in dict.fromkeys(notes) if n]  # in order, each once
    return " ".join([text, *extra])


def _bowl():
    H = random_spd(2, seeded("feedback-descent"), cond=6.0)
    return Quadratic(H, np.zeros(2)), np.array([1.6, -1.2]), reference.max_stable_lr(H)


#: shapes in the docstrings' words: a caption never gives the sizes of our inputs
PATH_SHAPE = "(n_steps + 1, d)"
HISTORY_SHAPE = "(epochs + 1, d)"


def _path_plot(sub) -> Plot:
    plt = _figure()
    bowl, start, lr_max = _bowl()
    lr = 0.45 * lr_max
    path, why = _yours(
        "gradient_descent",
        lambda: as_array(
            "gradient_descent", call(sub, "gradient_descent", bowl.grad, start, lr, 15), (16, 2), PATH_SHAPE
        ),
    )
    ref = reference.gradient_descent(bowl.grad, start, lr, 15)
    fig, ax = plt.subplots(figsize=(5, 4.2))
    xs = np.linspace(-2, 2, 120)
    Z = np.array([[bowl.f(np.array([a, b])) for a in xs] for b in xs])
    ax.contour(xs, xs, Z, levels=20, cmap="viridis", linewidths=0.7)
    ax.plot(ref[:, 0], ref[:, 1], "o-", color="#999999", ms=3, label="reference")
    notes = [why]
    if path is not None:
        ax.plot(path[:, 0], path[:, 1], ".-", color="#C44E52", label="yours")
        notes.append(_path_note(path, start))
    ax.plot(*start, "ks")
    ax.set_xlim(-2, 2)
    ax.set_ylim(-2, 2)
    ax.legend(fontsize=8)
    caption = (
        "Both start at the black square with the same learning rate; a correct implementation follows the "
        "grey path to the centre."
    )
    return Plot("path", "Your descent path on a bowl", _caption(caption, notes), _png(fig))


def _path_note(path: np.ndarray, start: np.ndarray) -> str:
    """A sentence when the student's path cannot look like a path."""
    if not np.all(np.isfinite(path)):
        return "Your path contains inf or nan, so only part of it is drawn."
    if np.all(path == path[0]):
        if np.allclose(path[0], start):
            return (
                "Your path is a single dot at the start: your weights never move. Check that each step's "
                "result is kept and used for the next step (w = gd_step(w, grad_f(w), lr))."
            )
        return (
            "Your path is a single dot: every row of it is the point where your last step ended, so all rows "
            "are one array, appended and then changed in place (`w -= lr * grad`). Append a copy (`w.copy()`), "
            "or build a new array each step (`w = w - lr * grad`)."
        )
    if np.all(path[1:] == path[-1]):
        return (
            "Your path jumps from the start to one point and stays there: every row after the first is the same "
            "array, changed in place. Store a new array each step (gd_step should return w - lr * grad)."
        )
    if np.max(np.abs(path)) > 2:
        return "Your path leaves the picture (it moves away from the centre)."
    return ""


def _learning_rate_plot(sub) -> Plot:
    plt = _figure()
    bowl, start, lr_max = _bowl()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    notes = []
    for factor, color in ((0.1, "#4C72B0"), (0.9, "#55A868"), (1.05, "#C44E52")):
        theirs = reference.gradient_descent(bowl.grad, start, factor * lr_max, 30)
        label = "reference (thick, pale)" if factor == 0.1 else None
        ax.semilogy([bowl.f(p) + 1e-16 for p in theirs], color=color, alpha=0.35, lw=4, label=label)
        mine, why = _yours(
            "gradient_descent",
            lambda f=factor: as_array(
                "gradient_descent",
                call(sub, "gradient_descent", bowl.grad, start, f * lr_max, 30),
                (31, 2),
                PATH_SHAPE,
            ),
        )
        notes.append(why)
        if mine is None:
            continue
        losses = np.array([bowl.f(p) if np.all(np.isfinite(p)) else np.inf for p in mine])
        notes.append(_not_finite("gradient_descent", losses))
        if np.all(mine == mine[0]):
            notes.append(
                "Your curves are flat: every row of your path is the same point (see the path plot for why), "
                "so the loss never changes."
            )
        ax.semilogy(losses + 1e-16, color=color, label=f"lr = {factor:g} x 2/λmax")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    caption = "Thin lines: yours; thick pale lines: the reference. Below 2/λmax the loss falls; above it, it grows."
    return Plot("loss", "Loss per step, three learning rates", _caption(caption, notes), _png(fig))


def _regression():
    rng = seeded("feedback-minibatch")
    X, y = regression(60, 3, rng)
    return X, y, rng.normal(size=3) * 2, np.linalg.lstsq(X, y, rcond=None)[0]


def _epochs_plot(sub) -> Plot:
    plt = _figure()
    X, y, w0, w_best = _regression()
    grad = reference.mse_gradient
    best = reference.mse_loss(w_best, X, y)
    lr, epochs = 0.02, 8
    runs = {
        "full batch": ("full_batch_gd", (), reference.full_batch_gd(grad, X, y, w0, lr, epochs)),
        "mini-batch (8)": (
            "minibatch_gd",
            (8, Rng(1)),
            reference.minibatch_gd(grad, X, y, w0, lr, epochs, 8, np.random.default_rng(1)),
        ),
        "SGD": ("sgd", (Rng(1),), reference.sgd(grad, X, y, w0, lr, epochs, np.random.default_rng(1))),
    }
    fig, ax = plt.subplots(figsize=(6, 3.5))
    notes = []
    for (label, (fn, extra, ref)), color in zip(runs.items(), ("#4C72B0", "#55A868", "#C44E52")):
        ref_losses = [reference.mse_loss(w, X, y) - best + 1e-12 for w in ref]
        ax.semilogy(ref_losses, color=color, alpha=0.35, lw=4, label=f"{label} (reference)")
        mine, why = _yours(
            fn,
            lambda fn=fn, extra=extra: as_array(
                fn, call(sub, fn, grad, X, y, w0, lr, epochs, *extra), (epochs + 1, 3), HISTORY_SHAPE
            ),
        )
        notes.append(why)
        if mine is None:
            continue
        losses = np.array([reference.mse_loss(w, X, y) - best + 1e-12 for w in mine])
        notes.append(_not_finite(fn, losses))
        notes.append(_history_note(fn, mine, w0))
        ax.semilogy(losses, color=color, label=f"{label} (yours)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss above the minimum")
    ax.legend(fontsize=8)
    caption = (
        "Thin lines: yours; thick pale lines of the same colour: the reference (random orders differ, so "
        "stochastic curves need not match exactly). All three should fall; SGD fastest per epoch, then noisy."
    )
    return Plot("epochs", "Loss per epoch: full batch, mini-batch, SGD", _caption(caption, notes), _png(fig))


def _history_note(fn: str, history: np.ndarray, w0: np.ndarray) -> str:
    """A sentence when a history's curve is flat because its rows are one array."""
    if not np.all(history == history[-1]):
        return ""
    if np.allclose(history[-1], w0):
        return f"Your `{fn}` curve is flat at the start: its weights never move."
    return (
        f"Your `{fn}` curve is flat: every row of its history is the same array, the weights after the last "
        "epoch, appended and then changed in place (`w -= lr * grad`). Append a copy (`w.copy()`), or build a "
        "new array each epoch (`w = w - lr * grad`)."
    )


def _ignores_rng(sub, X, y, w0, lr) -> bool:
    """Whether the student's minibatch_gd takes its order from np.random or the random module:
    the same rng with another global seed gives another run."""
    runs = [
        call(sub, "minibatch_gd", reference.mse_gradient, X, y, w0, lr, 1, 4, Rng(0), global_seed=g) for g in (1, 2)
    ]
    return not np.array_equal(np.asarray(runs[0], dtype=float), np.asarray(runs[1], dtype=float))


def _batch_size_plot(sub) -> Plot:
    plt = _figure()
    X, y, _, w_best = _regression()
    grad, lr = reference.mse_gradient, 0.02
    sizes = (1, 4, 16, 60)

    def spreads(run) -> list[float]:
        out = []
        for size in sizes:
            finals = [reference.mse_loss(run(size, seed), X, y) for seed in range(6)]
            out.append(float(np.std(finals)) + 1e-16)
        return out

    theirs = spreads(
        lambda size, seed: reference.minibatch_gd(grad, X, y, w_best, lr, 1, size, np.random.default_rng(seed))[-1]
    )
    mine, why = _yours(
        "minibatch_gd",
        lambda: np.array(
            spreads(
                lambda size, seed: as_array(
                    "minibatch_gd",
                    call(sub, "minibatch_gd", grad, X, y, w_best, lr, 1, size, Rng(seed)),
                    (2, 3),
                    HISTORY_SHAPE,
                )[-1]
            )
        ),
    )
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.loglog(sizes, theirs, "o-", color="#999999", alpha=0.6, lw=4, label="reference")
    notes = [why]
    if mine is not None:
        ax.loglog(sizes, mine, "o-", color="#4C72B0", label="yours")
        notes.append(_not_finite("minibatch_gd", mine))
        if np.all(mine <= 1e-15):
            try:
                ignores = _ignores_rng(sub, X, y, w_best, lr)
            except Fail:
                ignores = False
            notes.append(
                "Your spread is zero at every batch size: your runs ignore `rng` (they take their order from "
                "np.random or the random module), so every seed here gives the same run and the line lies on "
                "the bottom of the plot. Draw the order from rng (rng.permutation)."
                if ignores
                else "Your spread is zero at every batch size: your runs give the same result for every rng "
                "(or do not move at all), so the line lies on the bottom of the plot."
            )
    ax.set_xlabel("batch size")
    ax.set_ylabel("spread of the loss across seeds")
    ax.legend(fontsize=8)
    caption = (
        "Starting at the best weights, one epoch with six seeds: the spread is the noise of using a batch instead "
        "of all the data. It should fall as the batch grows, like the reference, and vanish at the full batch "
        "(the last point sits on the bottom of the plot)."
    )
    return Plot("batch_size", "Batch size and noise", _caption(caption, notes), _png(fig))


PLOTTERS: dict[str, list[Callable]] = {
    "01_gradients": [_gradients_plot],
    "02_gradient_descent": [_path_plot, _learning_rate_plot],
    "03_minibatch": [_epochs_plot, _batch_size_plot],
}


def draw_plots(sub, assignment_id: str) -> tuple[list[Plot], list[str]]:
    """The assignment's plots of the student's code, and a note for each that could not be drawn.

    Plotters draw the reference whatever the student's code does and explain a missing or
    degenerate curve in the caption, so a note here means the grader itself failed to draw.
    """
    plots, notes = [], []
    for plotter in PLOTTERS.get(assignment_id, []):
        try:
            with np.errstate(all="ignore"):
                plots.append(plotter(sub))
        except Exception as exc:  # noqa: BLE001 - a plot must never stop the report
            note = f"A plot could not be drawn ({type(exc).__name__}); your scores are not affected."
            if note not in notes:
                notes.append(note)
    return plots, notes


# -------------------------------------------------------------------------------- reports

_MARK = {"passed": "✓", "failed": "✗"}
#: the verdict in a learner's words, shown next to a failed check
VERDICT_WORDS = {
    "failed": "wrong answer",
    "gated": "counts once the check it depends on passes",
    "error": "your code raised an error",
    "timeout": "did not finish in time",
    "crashed": "stopped Python",
    "missing": "function not found",
    "not_implemented": "not implemented yet",
    "unreadable": "notebook could not be run",
    "grader_error": "the grader failed, not you",
}


def _sections(graded: GradedSubmission):
    for function, (score, out_of) in graded.functions().items():
        tests = [t for t in graded.tests if t.function == function]
        yield function, score, out_of, tests


def markdown_report(graded: GradedSubmission, plots: list[Plot], notes: list[str]) -> str:
    lines = [
        f"# Feedback: {graded.assignment}, {markdown_text(graded.student)}",
        "",
        f"**Score: {graded.score:g} / {graded.max_score:g}** (autograded functions; written answers are graded by hand)",
        "",
        "| function | score | checks passed |",
        "|---|---|---|",
    ]
    for function, score, out_of, tests in _sections(graded):
        passed = sum(t.status == "passed" for t in tests)
        lines.append(f"| `{function}` | {score:g} / {out_of:g} | {passed} of {len(tests)} |")
    for note in graded.notes + notes:
        lines += ["", f"> {markdown_text(note)}"]
    for function, score, out_of, tests in _sections(graded):
        lines += ["", f"## `{function}`: {score:g} / {out_of:g}", ""]
        for t in tests:
            description = t.name.split(": ", 1)[1]
            if t.status == "passed":
                lines.append(f"- {_MARK['passed']} {description}")
            else:
                lines.append(
                    f"- {_MARK['failed']} {description} ({VERDICT_WORDS.get(t.verdict, t.verdict)})  \n  {markdown_text(t.output)}"
                )
    if plots:
        lines += ["", "## Your code at work", ""]
        for p in plots:
            title = markdown_text(p.title)
            lines += [f"### {title}", "", f"![{title}](feedback_{p.name}.png)", "", markdown_text(p.caption), ""]
    return "\n".join(lines).rstrip() + "\n"


def html_report(graded: GradedSubmission, plots: list[Plot], notes: list[str]) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Feedback: {e(graded.assignment)}, {e(graded.student)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.45}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .6rem}"
        ".failed{color:#a40000}.note{background:#fff6d5;padding:.4rem .8rem;border-left:4px solid #e0b000}"
        "img{max-width:100%;border:1px solid #ddd}li{margin:.3rem 0}</style></head><body>",
        f"<h1>Feedback: {e(graded.assignment)}, {e(graded.student)}</h1>",
        f"<p><strong>Score: {graded.score:g} / {graded.max_score:g}</strong> (autograded functions; written answers "
        "are graded by hand)</p>",
        "<table><tr><th>function</th><th>score</th><th>checks passed</th></tr>",
    ]
    for function, score, out_of, tests in _sections(graded):
        passed = sum(t.status == "passed" for t in tests)
        parts.append(
            f"<tr><td><code>{e(function)}</code></td><td>{score:g} / {out_of:g}</td><td>{passed} of {len(tests)}</td></tr>"
        )
    parts.append("</table>")
    for note in graded.notes + notes:
        parts.append(f'<p class="note">{e(note)}</p>')
    for function, score, out_of, tests in _sections(graded):
        parts.append(f"<h2><code>{e(function)}</code>: {score:g} / {out_of:g}</h2><ul>")
        for t in tests:
            description = e(t.name.split(": ", 1)[1])
            if t.status == "passed":
                parts.append(f"<li>{_MARK['passed']} {description}</li>")
            else:
                verdict = e(VERDICT_WORDS.get(t.verdict, t.verdict))
                parts.append(
                    f'<li class="failed">{_MARK["failed"]} {description} <em>({verdict})</em><br>{e(t.output)}</li>'
                )
        parts.append("</ul>")
    if plots:
        parts.append("<h2>Your code at work</h2>")
        for p in plots:
            data = base64.b64encode(p.png).decode("ascii")
            parts.append(
                f'<h3>{e(p.title)}</h3><img alt="{e(p.title)}" src="data:image/png;base64,{data}"><p>{e(p.caption)}</p>'
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_reports(graded: GradedSubmission, out_dir: Path) -> Path:
    """feedback.md (with PNG files beside it) and feedback.html (PNGs embedded)."""
    folder = out_dir / graded.student / graded.assignment
    folder.mkdir(parents=True, exist_ok=True)
    plots, notes = graded.plots, graded.plot_notes
    for p in plots:
        path = folder / f"feedback_{p.name}.png"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(p.png)
        tmp.replace(path)
    write_atomic(folder / "feedback.md", markdown_report(graded, plots, notes))
    write_atomic(folder / "feedback.html", html_report(graded, plots, notes))
    return folder / "feedback.html"
