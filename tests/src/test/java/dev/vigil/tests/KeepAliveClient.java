package dev.vigil.tests;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An HTTP/1.1 client as cheap as a benchmark client can be: each calling thread keeps its own connection open
 * (keep-alive), a request is bytes encoded once and sent in one write, and the reply is read into a buffer that the
 * connection reuses: the status line, the few headers a KServe v2 reply needs, and the body by its Content-Length or
 * chunked. A server's {@code Connection: close} is honoured by reconnecting on the next request.
 *
 * <p>A {@link Reply} is a view of its connection's buffer, valid on its thread until the next request there.
 */
final class KeepAliveClient implements AutoCloseable {
    private final String host;
    private final int port;
    private final ThreadLocal<Connection> connections = new ThreadLocal<>();
    private final List<Connection> opened = new ArrayList<>();

    KeepAliveClient(String host, int port) {
        this.host = host;
        this.port = port;
    }

    /**
     * The bytes of a POST request with a Content-Length body, encoded once and sent as they are by {@link #send}.
     *
     * @param headers more header names and values, alternately
     */
    byte[] post(String path, byte[] body, String... headers) {
        StringBuilder head = new StringBuilder("POST ").append(path).append(" HTTP/1.1\r\nHost: ").append(host)
                .append(':').append(port).append("\r\nContent-Length: ").append(body.length).append("\r\n");
        for (int i = 0; i < headers.length; i += 2) {
            head.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
        }
        byte[] h = head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
        byte[] request = Arrays.copyOf(h, h.length + body.length);
        System.arraycopy(body, 0, request, h.length, body.length);
        return request;
    }

    /** Sends a request made by {@link #post} on this thread's connection and reads the reply. */
    Reply send(byte[] request) {
        Connection c = connections.get();
        try {
            if (c == null || c.closed) {
                c = connect();
            }
            return c.exchange(request);
        } catch (IOException e) {
            c.close();
            throw new UncheckedIOException(e);
        }
    }

    private Connection connect() throws IOException {
        Connection c = new Connection(host, port);
        connections.set(c);
        synchronized (opened) {
            opened.add(c);
        }
        return c;
    }

    /** Closes every connection this client opened, on whichever thread. */
    @Override
    public void close() {
        synchronized (opened) {
            for (Connection c : opened) {
                c.close();
            }
            opened.clear();
        }
    }

    /**
     * A reply as read off the wire.
     *
     * @param status       the status code
     * @param headerLength the {@code Inference-Header-Content-Length} header, -1 when absent
     * @param body         the buffer holding the body from index 0
     * @param length       the body's length
     */
    record Reply(int status, long headerLength, byte[] body, int length) {
        String text() {
            return new String(body, 0, length, StandardCharsets.UTF_8);
        }
    }

    /** One keep-alive connection and its reusable buffers; used by one thread at a time. */
    private static final class Connection {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;
        /** Bytes read but not used yet: {@code [start, end)}. */
        private byte[] buf = new byte[64 * 1024];
        private int start;
        private int end;
        /** Where the line that {@link #line()} consumed last starts. */
        private int lineStart;
        private byte[] body = new byte[256 * 1024];
        volatile boolean closed;

        Connection(String host, int port) throws IOException {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), 10_000);
            socket.setSoTimeout(120_000);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        }

        Reply exchange(byte[] request) throws IOException {
            out.write(request);
            int headEnd = readHead();
            int lineEnd = indexOf(start, headEnd, (byte) '\n');
            if (lineEnd - start < 12 || buf[start + 8] != ' ') {
                throw new IOException("not an HTTP status line: "
                        + new String(buf, start, lineEnd - start, StandardCharsets.ISO_8859_1).trim());
            }
            int status = (buf[start + 9] - '0') * 100 + (buf[start + 10] - '0') * 10 + (buf[start + 11] - '0');
            long contentLength = -1;
            long headerLength = -1;
            boolean chunked = false;
            boolean close = false;
            for (int line = lineEnd + 1; line < headEnd; ) {
                int next = indexOf(line, headEnd, (byte) '\n');
                int colon = indexOf(line, next, (byte) ':');
                if (colon < next) {
                    if (nameIs(line, colon, "content-length")) {
                        contentLength = number(colon + 1, next);
                    } else if (nameIs(line, colon, "inference-header-content-length")) {
                        headerLength = number(colon + 1, next);
                    } else if (nameIs(line, colon, "transfer-encoding")) {
                        chunked = valueIs(colon + 1, next, "chunked");
                    } else if (nameIs(line, colon, "connection")) {
                        close = valueIs(colon + 1, next, "close");
                    }
                }
                line = next + 1;
            }
            start = headEnd;
            int length;
            if (chunked) {
                length = readChunked();
            } else if (contentLength >= 0) {
                length = (int) contentLength;
                readBody(0, length);
            } else {
                throw new IOException("a reply with neither Content-Length nor chunked encoding");
            }
            if (close) {
                close();
            }
            return new Reply(status, headerLength, body, length);
        }

        /** Reads until the buffer holds the whole head; returns the index just past its empty line. */
        private int readHead() throws IOException {
            while (true) {
                // heads are short: rescanning from the start after each read costs nothing
                for (int i = start + 3; i < end; i++) {
                    if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
                        return i + 1;
                    }
                }
                fill();
            }
        }

        /** Reads more bytes after {@code end}, first moving what is unread to the front (or growing the buffer). */
        private void fill() throws IOException {
            if (start > 0) {
                System.arraycopy(buf, start, buf, 0, end - start);
                end -= start;
                start = 0;
            }
            if (end == buf.length) {
                buf = Arrays.copyOf(buf, buf.length * 2);
            }
            int n = in.read(buf, end, buf.length - end);
            if (n < 0) {
                throw new EOFException("the server closed the connection");
            }
            end += n;
        }

        /** Puts {@code n} body bytes at {@code body[at]}: those already buffered, the rest straight off the socket. */
        private void readBody(int at, int n) throws IOException {
            if (at + n > body.length) {
                body = Arrays.copyOf(body, Math.max(at + n, body.length * 2));
            }
            int buffered = Math.min(n, end - start);
            System.arraycopy(buf, start, body, at, buffered);
            start += buffered;
            for (int got = buffered; got < n; ) {
                int r = in.read(body, at + got, n - got);
                if (r < 0) {
                    throw new EOFException("the server closed the connection mid-body");
                }
                got += r;
            }
        }

        private int readChunked() throws IOException {
            int length = 0;
            while (true) {
                int size = (int) hexLine();
                if (size == 0) {
                    // no trailers: the empty line ends the body
                    line();
                    return length;
                }
                readBody(length, size);
                length += size;
                line();
            }
        }

        private long hexLine() throws IOException {
            int lineEnd = line();
            long v = 0;
            for (int i = lineStart; i < lineEnd; i++) {
                int d = Character.digit(buf[i], 16);
                if (d < 0) {
                    break;
                }
                v = v * 16 + d;
            }
            return v;
        }

        /** Consumes one CRLF-ended line; returns its end and leaves its start in {@link #lineStart}. */
        private int line() throws IOException {
            while (true) {
                int nl = indexOf(start, end, (byte) '\n');
                if (nl < end) {
                    lineStart = start;
                    start = nl + 1;
                    return nl > lineStart && buf[nl - 1] == '\r' ? nl - 1 : nl;
                }
                fill();
            }
        }

        private int indexOf(int from, int to, byte b) {
            for (int i = from; i < to; i++) {
                if (buf[i] == b) {
                    return i;
                }
            }
            return to;
        }

        private boolean nameIs(int from, int to, String name) {
            if (to - from != name.length()) {
                return false;
            }
            for (int i = 0; i < name.length(); i++) {
                if (Character.toLowerCase(buf[from + i]) != name.charAt(i)) {
                    return false;
                }
            }
            return true;
        }

        private boolean valueIs(int from, int to, String value) {
            return new String(buf, from, to - from, StandardCharsets.ISO_8859_1).trim().equalsIgnoreCase(value);
        }

        private long number(int from, int to) throws IOException {
            String s = new String(buf, from, to - from, StandardCharsets.ISO_8859_1).trim();
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new IOException("not a number in a reply header: '" + s + "'");
            }
        }

        void close() {
            closed = true;
            try {
                socket.close();
            } catch (IOException e) {
                // closing: nothing to do
            }
        }
    }
}
