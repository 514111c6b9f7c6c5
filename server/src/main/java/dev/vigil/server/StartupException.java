package dev.vigil.server;

import java.io.IOException;

/** The server cannot start (no model repository, no port to listen on); the message says why in one line. */
public final class StartupException extends IOException {
    public StartupException(String message) {
        super(message);
    }
}
