package dev.vigil.server.quant;

import dev.vigil.probes.stats.QuantSnapshot;

import java.util.Locale;
import java.util.Map;

/**
 * Calibration ranges in TensorRT's calibration cache text format (what {@code IInt8Calibrator::writeCalibrationCache}
 * writes and {@code trtexec --calib=FILE} reads): a header line {@code TRT-<version>-<calibrator>}, then one line
 * {@code <tensor name>: <scale>} per tensor, the scale {@code c/127} written as the 8 hex digits of its IEEE-754
 * float32 bits. The header names {@code EntropyCalibration2}, the calibrator trtexec uses (TensorRT reads a cache
 * only under the calibrator that wrote it); the ranges are Vigil's own ({@code absmax} or {@code percentile}).
 */
public final class TensorRtCalibrationCache {
    /** TensorRT 8.6.1's header for its default calibrator. */
    public static final String HEADER = "TRT-8601-EntropyCalibration2";

    private TensorRtCalibrationCache() {
    }

    /** The cache text of {@code ranges} (tensor → window statistics); tensors without a positive clip are omitted. */
    public static String write(Map<String, QuantSnapshot> ranges, Calibration calibration) {
        StringBuilder out = new StringBuilder(HEADER).append('\n');
        for (Map.Entry<String, QuantSnapshot> e : ranges.entrySet()) {
            double c = calibration.clip(e.getValue());
            if (c > 0 && !Double.isInfinite(c)) {
                int bits = Float.floatToIntBits((float) (c / 127.0));
                out.append(e.getKey()).append(": ").append(String.format(Locale.ROOT, "%08x", bits)).append('\n');
            }
        }
        return out.toString();
    }
}
