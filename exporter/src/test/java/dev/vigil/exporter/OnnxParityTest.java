package dev.vigil.exporter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import ai.onnx.proto.OnnxMl.ModelProto;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The exported graphs, run in ONNX Runtime, against the DJL forward pass and a JTransforms reference. */
class OnnxParityTest {
    private static final int BATCH = 3;

    @ParameterizedTest
    @CsvSource({
        "PRENORM, GELU, MEAN, 16",
        "PRENORM, RELU, FIRST, 16",
        "POSTNORM, GELU, FIRST, 16",
        "POSTNORM, RELU, MEAN, 16",
        "EFT, GELU, MEAN, 16",
        "EFT, RELU, FIRST, 15",
    })
    void exportedLogitsMatchDjl(Architecture architecture, MlpActivation activation, Pooling pooling, int seqLen)
            throws Exception {
        ModelOptions options = new ModelOptions(architecture, 20, seqLen, 16, 2, 2, 24, 5, activation, pooling);
        Random random = new Random(architecture.ordinal() * 31L + seqLen);
        long[] ids = new long[BATCH * seqLen];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(options.vocabSize());
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            SequenceClassifier model = SequenceClassifier.create(options, manager);
            randomize(model, random);
            float[] djl = model.predict(manager.create(ids, new Shape(BATCH, seqLen))).toFloatArray();
            float[] ort = OrtRunner.runIds(OnnxExporter.export(model, "parity"), ids, BATCH, seqLen);
            assertEquals(BATCH * options.classes(), ort.length);
            assertTrue(spread(djl) > 0.1, "logits too uniform to make the comparison meaningful: " + spread(djl));
            assertArrayEquals(djl, ort, 1e-4f);
        }
    }

    @ParameterizedTest
    @CsvSource({"16, 4", "15, 3", "256, 8"})
    void exportedMixerMatchesJTransforms(int seqLen, int dim) throws Exception {
        Random random = new Random(seqLen);
        int bins = seqLen / 2 + 1;
        double[][][] x = new double[BATCH][seqLen][dim];
        float[] flat = new float[BATCH * seqLen * dim];
        for (int b = 0, i = 0; b < BATCH; b++) {
            for (int t = 0; t < seqLen; t++) {
                for (int d = 0; d < dim; d++, i++) {
                    x[b][t][d] = random.nextGaussian();
                    flat[i] = (float) x[b][t][d];
                }
            }
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            SpectralMixer mixer = new SpectralMixer(seqLen, dim);
            mixer.initialize(manager, DataType.FLOAT32, new Shape(BATCH, seqLen, dim));
            double[][] wr = randomize(mixer.filterReal(), bins, dim, random);
            double[][] wi = randomize(mixer.filterImag(), bins, dim, random);
            float[] ort = OrtRunner.runFloats(OnnxExporter.exportMixer(mixer, dim), "x", flat, BATCH, seqLen, dim);
            for (int b = 0; b < BATCH; b++) {
                double[][] expected = FftReference.spectralMix(x[b], wr, wi);
                for (int t = 0; t < seqLen; t++) {
                    for (int d = 0; d < dim; d++) {
                        assertEquals(expected[t][d], ort[(b * seqLen + t) * dim + d], 1e-4 * Math.sqrt(seqLen),
                                "b=" + b + " t=" + t + " d=" + d);
                    }
                }
            }
        }
    }

    @Test
    void djlMixerMatchesJTransforms() {
        int seqLen = 32;
        int dim = 5;
        Random random = new Random(3);
        double[][] x = new double[seqLen][dim];
        float[] flat = new float[seqLen * dim];
        for (int t = 0, i = 0; t < seqLen; t++) {
            for (int d = 0; d < dim; d++, i++) {
                x[t][d] = random.nextGaussian();
                flat[i] = (float) x[t][d];
            }
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            SpectralMixer mixer = new SpectralMixer(seqLen, dim);
            mixer.initialize(manager, DataType.FLOAT32, new Shape(1, seqLen, dim));
            double[][] wr = randomize(mixer.filterReal(), seqLen / 2 + 1, dim, random);
            double[][] wi = randomize(mixer.filterImag(), seqLen / 2 + 1, dim, random);
            float[] got = mixer.forward(new ParameterStore(manager, false),
                    new NDList(manager.create(flat, new Shape(1, seqLen, dim))), false)
                    .singletonOrThrow().toFloatArray();
            double[][] expected = FftReference.spectralMix(x, wr, wi);
            for (int t = 0; t < seqLen; t++) {
                for (int d = 0; d < dim; d++) {
                    assertEquals(expected[t][d], got[t * dim + d], 1e-4, "t=" + t + " d=" + d);
                }
            }
        }
    }

    /** Replaces the N(0, 0.02) init by larger random values so every path moves the logits. */
    private static void randomize(SequenceClassifier model, Random random) {
        for (Pair<String, Parameter> p : model.getParameters()) {
            NDArray array = p.getValue().getArray();
            float[] values = new float[(int) array.size()];
            boolean gamma = p.getValue().getType() == Parameter.Type.GAMMA;
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) ((gamma ? 1.0 : 0.0) + 0.3 * random.nextGaussian());
            }
            array.set(values);
        }
    }

    private static double[][] randomize(Parameter parameter, int rows, int cols, Random random) {
        double[][] out = new double[rows][cols];
        float[] values = new float[rows * cols];
        for (int r = 0, i = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++, i++) {
                out[r][c] = random.nextGaussian();
                values[i] = (float) out[r][c];
            }
        }
        parameter.getArray().set(values);
        return out;
    }

    private static double spread(float[] values) {
        double min = Double.MAX_VALUE;
        double max = -Double.MAX_VALUE;
        for (float v : values) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        return max - min;
    }
}
