package dev.vigil.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hundreds of clients that send their bodies a byte at a time: they hold no server thread while they trickle, a
 * normal request is served meanwhile, and each slow one is answered 408 (or closed) at the body deadline. Jetty's
 * pool has 250 threads, so 300 slow bodies read by blocking would take them all.
 */
@Timeout(120)
class SlowClientsTest {
    private static final int SLOW = 300;
    private static final long BODY_TIMEOUT_MS = 10_000;
    private static final long IDLE_TIMEOUT_MS = 5_000;
    private static final String GOOD_BODY = "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\","
            + "\"data\":[1,2,3]}]}";

    @TempDir
    static Path repo;
    private static VigilServer server;
    private static int port;

    @BeforeAll
    static void start() throws IOException {
        TestModels.writeMlp(repo, "mlp");
        server = new VigilServer(TestServers.cpu(repo)
                .intraOpThreads(1).bodyTimeoutMs(BODY_TIMEOUT_MS).idleTimeoutMs(IDLE_TIMEOUT_MS).build());
        port = server.start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** What one slow socket got back, and when (ms after the slow clients started). */
    private static final class Slow {
        final SocketChannel channel;
        final ByteArrayOutputStream reply = new ByteArrayOutputStream();
        long firstReplyMs = -1;
        long closedMs = -1;

        Slow(SocketChannel channel) {
            this.channel = channel;
        }

        /** Closed, or a whole JSON reply arrived. */
        boolean answered() {
            return closedMs >= 0 || text().endsWith("}");
        }

        String text() {
            return reply.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private static long jettyThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("JettyServerThreadPool")).count();
    }

    @Test
    void slowBodiesNeitherStarveNormalRequestsNorLastPastTheDeadline() throws Exception {
        byte[] head = ("POST /v2/models/mlp/infer HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                + "Content-Length: 1000\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
        String normalRequest = "POST /v2/models/mlp/infer HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                + "Content-Length: " + GOOD_BODY.length() + "\r\n\r\n" + GOOD_BODY;
        RawHttp normalClient = new RawHttp(port);
        assertEquals(200, normalClient.exchange(normalRequest).status(), "warm-up");
        ExecutorService normalThread = Executors.newSingleThreadExecutor();
        List<Slow> slow = new ArrayList<>();
        long t0 = System.nanoTime();
        try (Selector selector = Selector.open()) {
            for (int i = 0; i < SLOW; i++) {
                SocketChannel ch = SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
                ch.write(ByteBuffer.wrap(head));
                ch.configureBlocking(false);
                Slow s = new Slow(ch);
                ch.register(selector, SelectionKey.OP_READ, s);
                slow.add(s);
            }
            CompletableFuture<long[]> normal = null;
            long threadsWhileTrickling = -1;
            long nextTrickle = 0;
            ByteBuffer in = ByteBuffer.allocate(4096);
            while (!slow.stream().allMatch(Slow::answered) && ms(t0) < BODY_TIMEOUT_MS + 20_000) {
                long now = ms(t0);
                if (now >= nextTrickle) {
                    for (Slow s : slow) {
                        if (s.closedMs < 0 && s.firstReplyMs < 0) {
                            try {
                                s.channel.write(ByteBuffer.wrap(new byte[]{' '}));
                            } catch (IOException e) {
                                s.closedMs = now;
                            }
                        }
                    }
                    nextTrickle = now + 400;
                }
                if (normal == null && now >= 2_000) {
                    normal = CompletableFuture.supplyAsync(() -> {
                        long start = System.nanoTime();
                        RawHttp.Reply r = normalClient.exchange(normalRequest);
                        return new long[]{r.status(), ms(start), ms(t0)};
                    }, normalThread);
                }
                if (threadsWhileTrickling < 0 && now >= 4_000) {
                    threadsWhileTrickling = jettyThreads();
                }
                selector.select(100);
                for (SelectionKey key : selector.selectedKeys()) {
                    Slow s = (Slow) key.attachment();
                    in.clear();
                    int n;
                    try {
                        n = s.channel.read(in);
                    } catch (IOException e) {
                        n = -1;
                    }
                    if (n > 0) {
                        if (s.firstReplyMs < 0) {
                            s.firstReplyMs = ms(t0);
                        }
                        s.reply.write(in.array(), 0, n);
                    } else if (n < 0) {
                        s.closedMs = ms(t0);
                        key.cancel();
                        s.channel.close();
                    }
                }
                selector.selectedKeys().clear();
            }
            long[] done = normal.get();
            System.out.printf("slow clients: normal request %d ms (done at %d ms), %d Jetty threads while trickling%n",
                    done[1], done[2], threadsWhileTrickling);
            assertEquals(200, done[0], "the normal request is served while " + SLOW + " bodies trickle");
            assertTrue(done[2] < BODY_TIMEOUT_MS, "normal request took " + done[1]
                    + " ms, done at " + done[2] + " ms, before the slow ones are cut off at " + BODY_TIMEOUT_MS);
            assertTrue(threadsWhileTrickling < SLOW / 3, threadsWhileTrickling + " Jetty threads while " + SLOW
                    + " bodies trickle: a thread is held per slow client");
            for (Slow s : slow) {
                long at = s.firstReplyMs >= 0 ? s.firstReplyMs : s.closedMs;
                assertTrue(at >= BODY_TIMEOUT_MS - 500 && at <= BODY_TIMEOUT_MS + 15_000,
                        "a slow client was answered or closed at " + at + " ms: " + s.text());
                if (s.firstReplyMs >= 0) {
                    String text = s.text();
                    assertTrue(text.startsWith("HTTP/1.1 408 "), text);
                    assertTrue(text.contains("application/json") && text.contains("{\"error\":")
                            && text.contains("--body-timeout-ms"), text);
                }
            }
        } finally {
            normalThread.shutdownNow();
            for (Slow s : slow) {
                s.channel.close();
            }
        }
    }

    @Test
    void aClientThatFallsSilentMidBodyGets408AfterTheIdleTimeout() throws IOException {
        RawHttp.Reply r = new RawHttp(port).exchange(("POST /v2/models/mlp/infer HTTP/1.1\r\nHost: t\r\n"
                + "Content-Length: 100\r\n\r\n0123456789").getBytes(StandardCharsets.ISO_8859_1), false);
        assertEquals(408, r.status(), r.text());
        assertTrue(r.header("content-type").startsWith("application/json"), r.text());
        assertTrue(r.text().contains("--idle-timeout-ms") && r.text().contains("10 of 100 bytes"), r.text());
        assertTrue(r.millis() >= IDLE_TIMEOUT_MS - 500 && r.millis() < BODY_TIMEOUT_MS, r.millis() + " ms");
    }

    private static long ms(long since) {
        return (System.nanoTime() - since) / 1_000_000;
    }
}
