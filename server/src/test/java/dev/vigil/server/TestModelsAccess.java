package dev.vigil.server;

import java.io.IOException;
import java.nio.file.Path;

/** Opens the test models to the tests of sub-packages. */
public final class TestModelsAccess {
    private TestModelsAccess() {
    }

    /** Writes the MatMul+Add+Relu model of {@link TestModels#writeMlp} as {@code repo/<name>/model.onnx}. */
    public static Path writeMlp(Path repo, String name) throws IOException {
        return TestModels.writeMlp(repo, name);
    }
}
