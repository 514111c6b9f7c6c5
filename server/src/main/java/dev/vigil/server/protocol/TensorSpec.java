package dev.vigil.server.protocol;

import java.util.Arrays;

/**
 * A model input or output as the protocol describes it: name, datatype and shape, with -1 for a dynamic axis.
 */
public record TensorSpec(String name, Datatype datatype, long[] shape) {

    public TensorSpec {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Axis {@code i}'s size, -1 when dynamic. */
    public long dim(int i) {
        return shape[i];
    }

    /** The number of axes. */
    public int rank() {
        return shape.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t && t.name.equals(name) && t.datatype == datatype
                && Arrays.equals(t.shape, shape);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + datatype + " " + Arrays.toString(shape);
    }
}
