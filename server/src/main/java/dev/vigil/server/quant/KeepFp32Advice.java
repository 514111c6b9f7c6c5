package dev.vigil.server.quant;

import java.util.List;

/**
 * The smallest prefix of a {@link SiteRanking} to keep float for a target {@code cosine_mean}, found by the
 * ranking's prediction, checked on the switchable model (growing the prefix while the check misses) and then measured
 * on the very model {@code GET /quantized?keep_fp32=...} exports.
 *
 * @param target    the asked {@code cosine_mean}
 * @param keepFp32  the sites to keep float, in rank order
 * @param predicted the ranking's prediction for that set
 * @param checked   the check on the switchable model of that set
 * @param measured  the exported model's fidelity on the recorded runs
 * @param cost      what the advice ran (beyond the sweep)
 */
record KeepFp32Advice(double target, List<String> keepFp32, double predicted, OutputFidelity.Summary checked,
                      OutputFidelity.Summary measured, SiteRanking.Cost cost) {
    KeepFp32Advice {
        keepFp32 = List.copyOf(keepFp32);
    }

    /** Whether the exported model reaches the target. */
    boolean reached() {
        return measured.cosineMean() >= target;
    }
}
