package dev.vigil.exporter;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.initializer.ConstantInitializer;
import ai.djl.training.initializer.Initializer;
import ai.djl.training.initializer.NormalInitializer;

/** Parameter factories shared by the blocks, so every tensor states its own initializer. */
final class Parameters {
    /** Standard deviation of the N(0, σ) init of every weight matrix, embedding and spectral filter. */
    static final float INIT_STD = 0.02f;

    private Parameters() {
    }

    static Parameter normal(String name, long... shape) {
        return build(name, Parameter.Type.WEIGHT, new NormalInitializer(INIT_STD), shape);
    }

    static Parameter zeros(String name, long... shape) {
        return build(name, Parameter.Type.BIAS, new ConstantInitializer(0f), shape);
    }

    static Parameter ones(String name, long... shape) {
        return build(name, Parameter.Type.GAMMA, new ConstantInitializer(1f), shape);
    }

    private static Parameter build(String name, Parameter.Type type, Initializer init, long... shape) {
        return Parameter.builder()
                .setName(name)
                .setType(type)
                .optShape(new Shape(shape))
                .optInitializer(init)
                .build();
    }
}
