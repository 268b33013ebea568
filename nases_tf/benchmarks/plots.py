"""The search benchmark's figure: the truth of what each strategy returns against queries."""

import numpy as np

from nases_tf.storage.fileio import atomic_write


def plot_report(report, path):
    """Writes a figure of the mean curves of the returned architecture's truth, with bands
    of one standard error of the mean on either side, atomically.

    Args:
        report: the dict of ``nases_tf.benchmarks.search.summarize``.
        path: the image path; its extension picks the format (``.png``, ``.pdf``, ``.svg``).

    Returns:
        True if written; False (after printing why) if matplotlib cannot be imported.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"--plot={path} skipped: matplotlib is not installed (pip install matplotlib)")
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    try:
        for name, entry in report["strategies"].items():
            mean = np.asarray(entry["curve_mean"])
            se = np.asarray(entry["curve_se"])
            x = np.arange(1, len(mean) + 1)
            ax.plot(x, mean, label=f"{name} ({entry['seeds']} seeds)")
            # The band is clipped at the optimum: no architecture beats it.
            ax.fill_between(x, mean - se, np.minimum(mean + se, report["optimum"]),
                            alpha=0.2)
        ax.axhline(report["optimum"], color="black", linestyle="--", linewidth=0.8,
                   label=f"table optimum {report['optimum']:.2f}")
        ax.set_xscale("log")
        ax.set_xlabel("queries (training runs)")
        ax.set_ylabel(f"{report['dataset']} test accuracy of the returned cell (%)")
        # The first few queries are near random for every strategy; leaving them out of the
        # y range keeps the differences that matter visible.
        low = min(np.nanmin(np.asarray(e["curve_mean"])[min(9, len(e["curve_mean"]) - 1):])
                  for e in report["strategies"].values())
        ax.set_ylim(max(low - 1.0, 0), report["optimum"] + 0.3)
        rewards = ("noise-free rewards (the truth)" if report.get("reward") == "noise_free"
                   else "rewards: one training seed's validation accuracy")
        ax.set_title(f"NAS-Bench-201 {report['dataset']}: mean ± standard error over seeds\n"
                     f"{rewards}; bands clipped at the optimum", fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120))
    finally:
        plt.close(fig)
    return True
