package dev.vigil.server.protocol;

/** Shape arithmetic and formatting for messages. */
public final class Shapes {
    private Shapes() {
    }

    /** The product of the dims; Long.MAX_VALUE when it overflows. */
    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d != 0 && n > Long.MAX_VALUE / d) {
                return Long.MAX_VALUE;
            }
            n *= d;
        }
        return n;
    }

    /** {@code [2, -1, 384]}. */
    public static String format(long[] shape) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(shape[i]);
        }
        return sb.append(']').toString();
    }
}
