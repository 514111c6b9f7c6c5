package dev.vigil.server;

import dev.vigil.server.serving.Device;

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
}
