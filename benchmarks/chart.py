"""Chart of verify time per presentation, from ``results/results.json``.

Run: ``python benchmarks/chart.py [results.json] [verify.png]`` (needs matplotlib,
the ``bench`` extra). Bars: the floor, our verifier cold and warm, python-cwt and
pycose on the same presentation, on a logarithmic axis. Peer bars come from the peer
interpreter, next to our verifier timed in that same interpreter.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BARS = (
    ("floor.warm", "floor, warm: 1 ES256 verify + 1 key load", "#9e9e9e"),
    ("floor.presentation", "floor, cold: 2 ES256 verifies + 1 key load", "#616161"),
    ("ours.verify.token.warm", "vitale_cred warm (token bytes)", "#1b5e20"),
    ("ours.verify.qr.warm", "vitale_cred warm (QR text)", "#2e7d32"),
    ("ours.verify.token.cold", "vitale_cred cold (token bytes)", "#388e3c"),
    ("ours.verify.qr.cold", "vitale_cred cold (QR text)", "#43a047"),
    ("ours.verify.token.cold@interop", "vitale_cred cold (token bytes)*", "#66bb6a"),
    ("peer.cwt.presentation", "python-cwt (token bytes)*", "#1565c0"),
    ("peer.pycose.presentation", "pycose (token bytes)*", "#c62828"),
)


def render(results_path: Path, image_path: Path) -> Path:
    """Draw the chart; returns the image path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = json.loads(results_path.read_text(encoding="utf-8"))
    rows = {row["name"]: row for row in results["rows"]}
    bars = [(label, rows[name], colour) for name, label, colour in BARS if name in rows]
    labels = [label for label, _, _ in bars]
    medians = [row["median_us"] for _, row, _ in bars]
    low = [row["median_us"] - row["p25_us"] for _, row, _ in bars]
    high = [row["p75_us"] - row["median_us"] for _, row, _ in bars]

    fig, ax = plt.subplots(figsize=(9, 0.5 * len(bars) + 1.6))
    positions = range(len(bars))
    ax.barh(
        positions,
        medians,
        xerr=[low, high],
        color=[colour for _, _, colour in bars],
        error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#333333"},
    )
    ax.set_yticks(list(positions), labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("µs per presentation (median, bars: interquartile range; log scale)")
    kind = "quick" if results["settings"]["quick"] else "full"
    env = results["environment"]
    ax.set_title(
        f"Presentation verify time ({kind} run, {results['date']})\n"
        f"Python {env['python']}, cryptography {env['cryptography']}, {env['cpu_count']} CPUs",
        fontsize=10,
    )
    for position, (_, row, _) in zip(positions, bars, strict=True):
        ax.text(
            row["p75_us"] * 1.08, position, f"{row['median_us']:,.0f} µs", va="center", fontsize=8
        )
    ax.set_xlim(right=max(row["p75_us"] for _, row, _ in bars) * 3)
    if any(name.endswith("@interop") or name.startswith("peer.") for name, _, _ in BARS):
        fig.text(0.01, 0.01, "* measured in the peer interpreter (cbor2 5.x)", fontsize=7)
    ax.grid(axis="x", which="both", alpha=0.25)
    fig.tight_layout()
    image_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(image_path, dpi=120)
    plt.close(fig)
    return image_path


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "results" / "results.json"
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "results" / "verify.png"
    print(render(source, target))
