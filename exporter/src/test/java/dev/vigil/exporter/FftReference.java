package dev.vigil.exporter;

import org.jtransforms.fft.DoubleFFT_1D;

/** Double-precision FFT references built on JTransforms, for checking the DJL and ONNX mixers. */
final class FftReference {
    private FftReference() {
    }

    /**
     * Inverse real FFT of a half spectrum: Hermitian extension to n bins, complex inverse DFT with
     * 1/n scaling, real part. Imaginary parts of bin 0 and bin n/2 are dropped, as irfft does.
     */
    static double[] inverseReal(double[] re, double[] im, int n) {
        double[] full = new double[2 * n];
        int bins = n / 2 + 1;
        for (int k = 0; k < bins; k++) {
            boolean selfConjugate = k == 0 || 2 * k == n;
            full[2 * k] = re[k];
            full[2 * k + 1] = selfConjugate ? 0 : im[k];
            if (!selfConjugate) {
                full[2 * (n - k)] = re[k];
                full[2 * (n - k) + 1] = -im[k];
            }
        }
        new DoubleFFT_1D(n).complexInverse(full, true);
        double[] y = new double[n];
        for (int t = 0; t < n; t++) {
            y[t] = full[2 * t];
        }
        return y;
    }

    /** Forward DFT of a real signal: bins 0..n/2 as {re, im}. */
    static double[][] forwardReal(double[] x) {
        int n = x.length;
        double[] full = new double[2 * n];
        for (int t = 0; t < n; t++) {
            full[2 * t] = x[t];
        }
        new DoubleFFT_1D(n).complexForward(full);
        int bins = n / 2 + 1;
        double[][] out = new double[2][bins];
        for (int k = 0; k < bins; k++) {
            out[0][k] = full[2 * k];
            out[1][k] = full[2 * k + 1];
        }
        return out;
    }

    /**
     * The spectral mixer on one sequence x[T][D] with filter (wr, wi)[T/2+1][D], column by column:
     * y[:, d] = irfft(rfft(x[:, d]) · (wr[:, d] + i·wi[:, d])).
     */
    static double[][] spectralMix(double[][] x, double[][] wr, double[][] wi) {
        int n = x.length;
        int dim = x[0].length;
        int bins = n / 2 + 1;
        double[][] y = new double[n][dim];
        double[] column = new double[n];
        double[] re = new double[bins];
        double[] im = new double[bins];
        for (int d = 0; d < dim; d++) {
            for (int t = 0; t < n; t++) {
                column[t] = x[t][d];
            }
            double[][] spectrum = forwardReal(column);
            for (int k = 0; k < bins; k++) {
                re[k] = spectrum[0][k] * wr[k][d] - spectrum[1][k] * wi[k][d];
                im[k] = spectrum[0][k] * wi[k][d] + spectrum[1][k] * wr[k][d];
            }
            double[] out = inverseReal(re, im, n);
            for (int t = 0; t < n; t++) {
                y[t][d] = out[t];
            }
        }
        return y;
    }
}
