package dev.vigil.exporter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * The ElasticFourierTransformer's token mixer: real FFT of [B, T, D] over the token axis, an
 * element-wise product with a learned complex filter [T/2+1, D], and the inverse real FFT back to T
 * positions. A global convolution along the sequence in O(T log T).
 */
public final class SpectralMixer extends AbstractBlock {
    private final int seqLen;
    private final Parameter filterReal;
    private final Parameter filterImag;

    public SpectralMixer(int seqLen, int dim) {
        this.seqLen = seqLen;
        int bins = seqLen / 2 + 1;
        filterReal = addParameter(Parameters.normal("filter_real", bins, dim));
        filterImag = addParameter(Parameters.normal("filter_imag", bins, dim));
    }

    int seqLen() {
        return seqLen;
    }

    Parameter filterReal() {
        return filterReal;
    }

    Parameter filterImag() {
        return filterImag;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        if (x.getShape().get(1) != seqLen) {
            throw new IllegalArgumentException("spectral mixer built for " + seqLen + " tokens, got " + x.getShape());
        }
        NDArray spectrum = x.rfft(seqLen, 1).real();
        NDArray xr = spectrum.get("..., 0");
        NDArray xi = spectrum.get("..., 1");
        NDArray wr = ps.getValue(filterReal, x.getDevice(), training);
        NDArray wi = ps.getValue(filterImag, x.getDevice(), training);
        NDArray re = xr.mul(wr).sub(xi.mul(wi));
        NDArray im = xr.mul(wi).add(xi.mul(wr));
        return new NDList(InverseRealFft.inverse(re, im, seqLen));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return inputShapes;
    }
}
