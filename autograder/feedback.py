"""Feedback reports for students: per function, the verdict and the message; and plots.

The plots show the student's own code at work on held-out problems next to the reference:
a loss curve, a descent path on a contour plot, the batch-size comparison.  They show
curves and paths, never the hidden data or the checks' code.  Each plot is drawn from plain
data the sandbox returns; if the student's function fails, that plot is left out with a note.
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
from .results import GradedSubmission, write_atomic
from .sandbox.worker import Rng
from .suites.framework import Fail, as_array, call, seeded


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


def _gradients_plot(sub) -> Plot:
    plt = _figure()
    rng = seeded("feedback-gradients")
    X, y = regression(40, 4, rng)
    w = rng.normal(size=4)
    labels = (y > np.median(y)).astype(float)
    rows = [
        ("mse_gradient", call(sub, "mse_gradient", w, X, y), reference.mse_gradient(w, X, y)),
        (
            "logistic_gradient",
            call(sub, "logistic_gradient", w, X, labels, l2=0.1),
            reference.logistic_gradient(w, X, labels, 0.1),
        ),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, (name, got, want) in zip(axes, rows):
        got = as_array(name, got, (4,))
        idx = np.arange(4)
        ax.bar(idx - 0.2, want, width=0.4, label="correct", color="#999999")
        ax.bar(idx + 0.2, got, width=0.4, label="yours", color="#4C72B0")
        ax.axhline(0, color="black", lw=0.5)
        ax.set_xticks(idx, [f"w[{i}]" for i in idx])
        ax.set_title(name)
        ax.legend(fontsize=8)
    caption = (
        "Each bar is one partial derivative at the same weights. Bars of the opposite sign mean your "
        "gradient points the wrong way; bars of another height, a missing factor."
    )
    return Plot("gradients", "Your gradients next to the correct ones", caption, _png(fig))


def _bowl():
    H = random_spd(2, seeded("feedback-descent"), cond=6.0)
    return Quadratic(H, np.zeros(2)), np.array([1.6, -1.2]), reference.max_stable_lr(H)


def _path_plot(sub) -> Plot:
    plt = _figure()
    bowl, start, lr_max = _bowl()
    lr = 0.45 * lr_max
    path = as_array("gradient_descent", call(sub, "gradient_descent", bowl.grad, start, lr, 15), (16, 2))
    ref = reference.gradient_descent(bowl.grad, start, lr, 15)
    fig, ax = plt.subplots(figsize=(5, 4.2))
    xs = np.linspace(-2, 2, 120)
    Z = np.array([[bowl.f(np.array([a, b])) for a in xs] for b in xs])
    ax.contour(xs, xs, Z, levels=20, cmap="viridis", linewidths=0.7)
    ax.plot(ref[:, 0], ref[:, 1], "o-", color="#999999", ms=3, label="reference")
    ax.plot(path[:, 0], path[:, 1], ".-", color="#C44E52", label="yours")
    ax.plot(*start, "ks")
    ax.legend(fontsize=8)
    return Plot(
        "path",
        "Your descent path on a bowl",
        "Both start at the black square with the same learning "
        "rate; a correct implementation follows the grey path to the centre.",
        _png(fig),
    )


def _learning_rate_plot(sub) -> Plot:
    plt = _figure()
    bowl, start, lr_max = _bowl()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for factor, color in ((0.1, "#4C72B0"), (0.9, "#55A868"), (1.05, "#C44E52")):
        mine = as_array(
            "gradient_descent", call(sub, "gradient_descent", bowl.grad, start, factor * lr_max, 30), (31, 2)
        )
        theirs = reference.gradient_descent(bowl.grad, start, factor * lr_max, 30)
        ax.semilogy([bowl.f(p) + 1e-16 for p in theirs], color=color, alpha=0.35, lw=4)
        ax.semilogy([bowl.f(p) + 1e-16 for p in mine], color=color, label=f"lr = {factor:g} x 2/λmax")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    return Plot(
        "loss",
        "Loss per step, three learning rates",
        "Thin lines: yours; thick pale lines: the reference. Below 2/λmax the loss falls; above it, it grows.",
        _png(fig),
    )


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
    drawn = 0
    for (label, (fn, extra, ref)), color in zip(runs.items(), ("#4C72B0", "#55A868", "#C44E52")):
        try:
            mine = as_array(fn, call(sub, fn, grad, X, y, w0, lr, epochs, *extra), (epochs + 1, 3))
        except Fail:
            continue  # draw the loops that work
        drawn += 1
        ax.semilogy([reference.mse_loss(w, X, y) - best + 1e-12 for w in ref], color=color, alpha=0.35, lw=4)
        ax.semilogy([reference.mse_loss(w, X, y) - best + 1e-12 for w in mine], color=color, label=f"{label} (yours)")
    if not drawn:
        plt.close(fig)
        raise Fail("none of `full_batch_gd`, `sgd` and `minibatch_gd` returned a history yet.")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss above the minimum")
    ax.legend(fontsize=8)
    return Plot(
        "epochs",
        "Loss per epoch: full batch, mini-batch, SGD",
        "Thin lines: yours; thick pale lines: "
        "the reference (random orders differ, so stochastic curves need not match exactly).",
        _png(fig),
    )


def _batch_size_plot(sub) -> Plot:
    plt = _figure()
    X, y, _, w_best = _regression()
    grad, lr = reference.mse_gradient, 0.02
    sizes = (1, 4, 16, 60)
    spreads = []
    for size in sizes:
        finals = []
        for seed in range(6):
            h = as_array("minibatch_gd", call(sub, "minibatch_gd", grad, X, y, w_best, lr, 1, size, Rng(seed)), (2, 3))
            finals.append(reference.mse_loss(h[-1], X, y))
        spreads.append(np.std(finals) + 1e-16)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.loglog(sizes, spreads, "o-", color="#4C72B0", label="yours")
    ax.set_xlabel("batch size")
    ax.set_ylabel("spread of the loss across seeds")
    ax.legend(fontsize=8)
    return Plot(
        "batch_size",
        "Batch size and noise",
        "Starting at the best weights, one epoch with six seeds: "
        "the spread is the noise of using a batch instead of all the data. It should fall as the batch "
        "grows and vanish at the full batch.",
        _png(fig),
    )


PLOTTERS: dict[str, list[Callable]] = {
    "01_gradients": [_gradients_plot],
    "02_gradient_descent": [_path_plot, _learning_rate_plot],
    "03_minibatch": [_epochs_plot, _batch_size_plot],
}


def draw_plots(sub, assignment_id: str) -> tuple[list[Plot], list[str]]:
    """The assignment's plots of the student's code, and a note for each that could not be drawn."""
    plots, notes = [], []
    for plotter in PLOTTERS.get(assignment_id, []):
        try:
            with np.errstate(all="ignore"):
                plots.append(plotter(sub))
        except Fail as fail:
            notes.append(f"A plot was left out because {fail}")
        except Exception as exc:  # noqa: BLE001 - a strange return value must not stop the report
            notes.append(f"A plot was left out: your code returned something we could not draw ({type(exc).__name__}).")
    return plots, notes


# -------------------------------------------------------------------------------- reports

_MARK = {"passed": "✓", "failed": "✗"}
#: the verdict in a learner's words, shown next to a failed check
VERDICT_WORDS = {
    "failed": "wrong answer",
    "gated": "counts once the answer is right",
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
        f"# Feedback: {graded.assignment}, {graded.student}",
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
        lines += ["", f"> {note}"]
    for function, score, out_of, tests in _sections(graded):
        lines += ["", f"## `{function}`: {score:g} / {out_of:g}", ""]
        for t in tests:
            description = t.name.split(": ", 1)[1]
            if t.status == "passed":
                lines.append(f"- {_MARK['passed']} {description}")
            else:
                lines.append(
                    f"- {_MARK['failed']} {description} ({VERDICT_WORDS.get(t.verdict, t.verdict)})  \n  {t.output}"
                )
    if plots:
        lines += ["", "## Your code at work", ""]
        for p in plots:
            lines += [f"### {p.title}", "", f"![{p.title}](feedback_{p.name}.png)", "", p.caption, ""]
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
