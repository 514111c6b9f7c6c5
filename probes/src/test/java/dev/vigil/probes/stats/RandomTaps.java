package dev.vigil.probes.stats;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Random;

/** Random masks and tap tensors shaped like real models' sites, with the oddities the statistics must handle. */
final class RandomTaps {
    private final Random rnd;

    RandomTaps(long seed) {
        rnd = new Random(seed);
    }

    Random random() {
        return rnd;
    }

    /** Per sequence one of: all real, left padding, right padding, holes, all masked. */
    byte[] mask(int batch, int tokens) {
        byte[] mask = new byte[batch * tokens];
        for (int b = 0; b < batch; b++) {
            int style = rnd.nextInt(6);
            int pad = rnd.nextInt(tokens);
            for (int t = 0; t < tokens; t++) {
                boolean real = switch (style) {
                    case 0, 1 -> true;
                    case 2 -> t >= pad;
                    case 3 -> t < tokens - pad;
                    case 4 -> rnd.nextInt(3) != 0;
                    default -> false;
                };
                mask[b * tokens + t] = (byte) (real ? 1 : 0);
            }
        }
        return mask;
    }

    /** A heap or direct buffer with its position moved away from 0 (the statistics must use absolute reads). */
    FloatBuffer buffer(float[] values) {
        FloatBuffer fb = rnd.nextBoolean() ? FloatBuffer.allocate(values.length)
                : ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        fb.put(0, values);
        fb.position(values.length / 2);
        return fb;
    }

    /**
     * Activations of {@code rows × width}: Gaussian channels of different scales, some channels never positive
     * (dead), some tiny (dormant), rare large spikes (massive, outliers), some rows all zero.
     */
    float[] activations(int rows, int width) {
        float[] x = new float[rows * width];
        float[] scale = new float[width];
        for (int j = 0; j < width; j++) {
            scale[j] = switch (rnd.nextInt(5)) {
                case 0 -> 0.001f;
                case 1 -> -1f;
                default -> (float) (0.2 + rnd.nextDouble() * 2);
            };
        }
        for (int i = 0; i < rows; i++) {
            if (rnd.nextInt(15) == 0) {
                continue;
            }
            for (int j = 0; j < width; j++) {
                double v = scale[j] < 0 ? -Math.abs(rnd.nextGaussian()) : rnd.nextGaussian() * scale[j];
                if (rnd.nextInt(60) == 0) {
                    v = (rnd.nextBoolean() ? 1 : -1) * (8 + rnd.nextDouble() * 300);
                }
                x[i * width + j] = (float) v;
            }
        }
        return x;
    }

    /**
     * Attention probabilities {@code [B,H,T,T]} in row-major order: per head causal or not, sink or not; masked keys
     * get 0 and every real query's row sums to 1 over its allowed keys; masked query rows hold junk.
     */
    float[] attention(int batch, int heads, int tokens, byte[] mask) {
        float[] p = new float[batch * heads * tokens * tokens];
        for (int h = 0; h < heads; h++) {
            boolean causal = rnd.nextBoolean();
            double sink = rnd.nextBoolean() ? 4 : 0;
            for (int b = 0; b < batch; b++) {
                int firstReal = -1;
                for (int k = 0; k < tokens && firstReal < 0; k++) {
                    if (mask == null || mask[b * tokens + k] != 0) {
                        firstReal = k;
                    }
                }
                for (int i = 0; i < tokens; i++) {
                    int base = ((b * heads + h) * tokens + i) * tokens;
                    double[] e = new double[tokens];
                    double sum = 0;
                    for (int k = 0; k < tokens; k++) {
                        boolean allowed = (mask == null || mask[b * tokens + k] != 0) && (!causal || k <= i);
                        if (allowed) {
                            e[k] = Math.exp(rnd.nextGaussian() * 1.5 + (k == firstReal ? sink : 0));
                            sum += e[k];
                        }
                    }
                    for (int k = 0; k < tokens; k++) {
                        p[base + k] = sum == 0 ? rnd.nextFloat() : (float) (e[k] / sum);
                    }
                }
            }
        }
        return p;
    }
}
