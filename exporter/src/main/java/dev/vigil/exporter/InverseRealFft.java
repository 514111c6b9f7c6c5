package dev.vigil.exporter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;

/**
 * The inverse real FFT along axis 1 written with real operations and forward {@code rfft}s only,
 * because DJL 0.35.1 back-propagates through {@code rfft} + {@code real()} but not through
 * {@code irfft} or {@code complex()}.
 *
 * <p>For a half spectrum {@code Y = A + iB} (bins 0..n/2) and its Hermitian extension to n bins,
 * {@code y = IDFT(Y) = Re(DFT(conj Y))/n = (DFT(A_full) + Im DFT(B_full))/n}, where
 * {@code A_full} is A mirrored evenly and {@code B_full} is B mirrored oddly. Both DFTs are of real
 * signals, so {@code rfft} computes them in O(n log n); their symmetry (DFT of an even real signal is
 * real and even, of an odd one imaginary and odd) gives the outputs past n/2 from the first half.
 * As in numpy/PyTorch {@code irfft}, the imaginary parts of bin 0 and (for even n) bin n/2 are
 * ignored.
 */
public final class InverseRealFft {
    private InverseRealFft() {
    }

    /**
     * @param re real parts, shape [B, n/2+1, ...]
     * @param im imaginary parts, same shape
     * @param n  output length along axis 1
     * @return the real signal, shape [B, n, ...]
     */
    public static NDArray inverse(NDArray re, NDArray im, int n) {
        int bins = n / 2 + 1;
        if (re.getShape().get(1) != bins || !re.getShape().equals(im.getShape())) {
            throw new IllegalArgumentException("expected real and imaginary parts of shape [B, " + bins
                    + ", ...] for n=" + n + ", got " + re.getShape() + " and " + im.getShape());
        }
        // bins 1..mirror are the ones reflected to n-1..n-mirror
        int mirror = n - bins;
        String inner = ":, 1:" + (mirror + 1);
        NDArray evenFull = re.concat(re.get(inner).flip(1), 1);
        NDArray zero = im.get(":, 0:1").zerosLike();
        NDArray oddInner = im.get(inner);
        NDArray oddFull = n % 2 == 0
                ? NDArrays.concat(new NDList(zero, oddInner, zero, oddInner.flip(1).neg()), 1)
                : NDArrays.concat(new NDList(zero, oddInner, oddInner.flip(1).neg()), 1);
        NDArray cosine = realPart(evenFull.rfft(n, 1));
        NDArray sine = imagPart(oddFull.rfft(n, 1));
        NDArray head = cosine.add(sine);
        NDArray tail = cosine.get(inner).sub(sine.get(inner)).flip(1);
        return head.concat(tail, 1).div(n);
    }

    /** Real part of a complex DJL array (via {@code real()}, which stacks re/im on a new last axis). */
    private static NDArray realPart(NDArray complex) {
        return complex.real().get("..., 0");
    }

    /** Imaginary part of a complex DJL array. */
    private static NDArray imagPart(NDArray complex) {
        return complex.real().get("..., 1");
    }
}
