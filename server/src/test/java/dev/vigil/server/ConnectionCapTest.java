package dev.vigil.server;

import dev.vigil.server.http.JettySettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --max-connections}: at the cap the server stops accepting and closes connections idle for a second until
 * there is room, so a client that holds idle sockets up to the cap delays a new request by about that second instead
 * of shutting it out (or, with no cap, running the process out of file descriptors); the cap is lowered to what the
 * open-file limit allows.
 */
@Timeout(60)
class ConnectionCapTest {
    private static final int CAP = 8;

    @TempDir
    static Path repo;

    @Test
    void idleConnectionsAtTheCapAreClosedAndANewRequestIsServedAfterThem() throws Exception {
        TestModels.writeMlp(repo, "mlp");
        try (VigilServer server = new VigilServer(TestServers.cpu(repo).intraOpThreads(1).probeWarmUpMs(0)
                .maxConnections(CAP).idleTimeoutMs(30_000).build())) {
            int port = server.start();
            List<Socket> idle = new ArrayList<>();
            try {
                // one more than the cap: Jetty's acceptor, already waiting in accept(), takes one past it
                for (int i = 0; i < CAP + 2; i++) {
                    idle.add(new Socket("127.0.0.1", port));
                }
                Thread.sleep(300);
                long t0 = System.nanoTime();
                HttpResponse<byte[]> ready = new Http(port).get("/v2/health/ready");
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertEquals(200, ready.statusCode());
                assertTrue(ms < 10_000, "a new request is served once idle connections are closed: " + ms + " ms");
                int closed = 0;
                for (Socket s : idle) {
                    // a connection closed for the request to get in was closed before it was served
                    s.setSoTimeout(200);
                    try {
                        closed += s.getInputStream().read() == -1 ? 1 : 0;
                    } catch (SocketException reset) {
                        closed++;
                    } catch (SocketTimeoutException stillOpen) {
                        // below the cap again, the others keep their 30 s idle timeout
                    }
                }
                assertTrue(closed >= 1 && closed < idle.size(), closed + " of " + idle.size() + " idle connections "
                        + "were closed: at the cap, idle ones are closed after " + JettySettings.LIMITED_IDLE_MS
                        + " ms until there is room (the idle timeout is 30 s)");
            } finally {
                for (Socket s : idle) {
                    s.close();
                }
            }
        }
    }

    @Test
    void theCapLeavesRoomForTheFilesTheServerNeeds() {
        assertEquals(4096, JettySettings.connectionCap(4096, 1 << 20));
        assertEquals(144, JettySettings.connectionCap(4096, 400), "400 files: 256 kept for the server");
        assertEquals(16, JettySettings.connectionCap(4096, 100), "never below 16");
        assertEquals(8, JettySettings.connectionCap(8, 1 << 20), "a cap below 16 when asked for");
        assertEquals(4096, JettySettings.connectionCap(4096, 0), "limit unknown");
    }
}
