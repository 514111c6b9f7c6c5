package dev.vigil.server;

import dev.vigil.server.serving.Device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The options every test server starts from: the given model repository, an ephemeral port (tests run concurrently)
 * and the CPU device. Each test chains its own limits on the returned builder.
 */
public final class TestServers {
    private TestServers() {
    }

    /** A builder serving {@code modelsDir} on port 0 on the CPU. */
    public static ServerOptions.Builder cpu(Path modelsDir) {
        return ServerOptions.builder().modelsDir(modelsDir).port(0).device(Device.parse("cpu"));
    }

    /** Copies the {@code model.onnx} of the model directory {@code from} into {@code repo/as} with its own config. */
    public static void copyModel(Path from, Path repo, String as, String configJson) throws IOException {
        Path dir = Files.createDirectories(repo.resolve(as));
        Files.copy(from.resolve("model.onnx"), dir.resolve("model.onnx"));
        Files.writeString(dir.resolve("config.json"), configJson);
    }
}
