package dev.vigil.tests.soak;

import dev.vigil.server.ServerOptions;
import dev.vigil.server.VigilServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;

import java.nio.file.Path;

/**
 * The server process of {@link Soak}: Vigil with its default options on a model repository (but the given
 * {@code --probe-warmup-ms}), plus the JVM's own
 * metrics (heap, direct buffers, threads) on {@code /metrics} so the soak can watch them from outside.
 */
public final class SoakServer {
    private SoakServer() {
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
        VigilServer server = new VigilServer(ServerOptions.builder().modelsDir(Path.of(args[0])).port(0)
                .probeWarmUpMs(Long.parseLong(args[1])).build());
        JvmMetrics.builder().register(server.metrics().registry());
        int port = server.start();
        System.out.println("SOAK PORT " + port);
        System.out.flush();
        Thread.currentThread().join();
    }
}
