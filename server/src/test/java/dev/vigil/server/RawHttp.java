package dev.vigil.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket, for requests no HTTP client would send: the exact bytes go out, and the reply is
 * read as it comes (status line, headers, a body by Content-Length or up to the close).
 */
public final class RawHttp {
    private final int port;

    public RawHttp(int port) {
        this.port = port;
    }

    /** A reply as read off the wire. */
    public record Reply(int status, Map<String, String> headers, byte[] body, long millis) {
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    /** Sends the bytes (then shuts the output when {@code halfClose}), and reads one reply within 20 s. */
    public Reply exchange(byte[] request, boolean halfClose) {
        long t0 = System.nanoTime();
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            out.write(request);
            out.flush();
            if (halfClose) {
                s.shutdownOutput();
            }
            Reply r = read(s.getInputStream());
            return new Reply(r.status, r.headers, r.body, (System.nanoTime() - t0) / 1_000_000);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no reply within 20 s to: " + preview(request), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Reply exchange(String request) {
        return exchange(request.getBytes(StandardCharsets.ISO_8859_1), false);
    }

    /**
     * Reads one reply off a stream; status -1 when the server closed the connection without one, an
     * {@link IOException} when what came is no HTTP status line.
     */
    public static Reply read(InputStream in) throws IOException {
        String statusLine = line(in);
        if (statusLine == null) {
            return new Reply(-1, Map.of(), new byte[0], 0);
        }
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[1].matches("\\d{3}")) {
            throw new IOException("not an HTTP reply: " + statusLine);
        }
        int status = Integer.parseInt(parts[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
            int colon = h.indexOf(':');
            if (colon > 0) {
                headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
            }
        }
        String length = headers.get("content-length");
        byte[] body;
        if (length != null) {
            body = in.readNBytes(Integer.parseInt(length));
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int n = Integer.parseInt(line(in).trim(), 16); n > 0; n = Integer.parseInt(line(in).trim(), 16)) {
                b.write(in.readNBytes(n));
                line(in);
            }
            line(in);
            body = b.toByteArray();
        } else {
            body = in.readAllBytes();
        }
        return new Reply(status, headers, body, 0);
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c = in.read(); c >= 0; c = in.read()) {
            if (c == '\n') {
                int n = b.length();
                return n > 0 && b.charAt(n - 1) == '\r' ? b.substring(0, n - 1) : b.toString();
            }
            b.append((char) c);
        }
        return b.length() == 0 ? null : b.toString();
    }

    private static String preview(byte[] request) {
        String s = new String(request, 0, Math.min(request.length, 120), StandardCharsets.ISO_8859_1);
        return s.replace("\r", "\\r").replace("\n", "\\n");
    }
}
