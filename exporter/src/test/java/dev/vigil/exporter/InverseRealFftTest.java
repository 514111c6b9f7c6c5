package dev.vigil.exporter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class InverseRealFftTest {

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 8, 9, 16, 255, 256})
    void matchesJTransformsInverseForEvenAndOddLengths(int n) {
        int bins = n / 2 + 1;
        int channels = 3;
        Random random = new Random(n);
        float[] re = new float[bins * channels];
        float[] im = new float[bins * channels];
        for (int i = 0; i < re.length; i++) {
            re[i] = (float) random.nextGaussian();
            im[i] = (float) random.nextGaussian();
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray y = InverseRealFft.inverse(
                    manager.create(re, new Shape(1, bins, channels)),
                    manager.create(im, new Shape(1, bins, channels)), n);
            assertEquals(new Shape(1, n, channels), y.getShape());
            float[] got = y.toFloatArray();
            for (int c = 0; c < channels; c++) {
                double[] expected = FftReference.inverseReal(column(re, bins, channels, c), column(im, bins, channels, c), n);
                for (int t = 0; t < n; t++) {
                    assertEquals(expected[t], got[t * channels + c], 1e-5, "n=" + n + " t=" + t + " c=" + c);
                }
            }
        }
    }

    /** The loss Σ c·y is linear in the spectrum, so its exact gradient is the reference applied to c's adjoint. */
    @Test
    void gradientFlowsToRealAndImaginaryParts() {
        int n = 16;
        int bins = n / 2 + 1;
        Random random = new Random(7);
        float[] weights = new float[n];
        for (int t = 0; t < n; t++) {
            weights[t] = (float) random.nextGaussian();
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray re = manager.randomNormal(new Shape(1, bins, 1));
            NDArray im = manager.randomNormal(new Shape(1, bins, 1));
            re.setRequiresGradient(true);
            im.setRequiresGradient(true);
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray loss = InverseRealFft.inverse(re, im, n).mul(manager.create(weights, new Shape(1, n, 1))).sum();
                collector.backward(loss);
            }
            assertNotNull(re.getGradient());
            float[] gradRe = re.getGradient().toFloatArray();
            float[] gradIm = im.getGradient().toFloatArray();
            for (int k = 0; k < bins; k++) {
                double[] unit = new double[bins];
                double[] zero = new double[bins];
                unit[k] = 1;
                assertEquals(dot(weights, FftReference.inverseReal(unit, zero, n)), gradRe[k], 1e-5, "d/dre[" + k + "]");
                assertEquals(dot(weights, FftReference.inverseReal(zero, unit, n)), gradIm[k], 1e-5, "d/dim[" + k + "]");
            }
        }
    }

    @Test
    void rejectsWrongNumberOfBins() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray half = manager.zeros(new Shape(1, 4, 2));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> InverseRealFft.inverse(half, half, 16));
            assertTrue(e.getMessage().contains("n=16"), e.getMessage());
        }
    }

    private static double dot(float[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static double[] column(float[] values, int rows, int channels, int c) {
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            out[r] = values[r * channels + c];
        }
        return out;
    }
}
