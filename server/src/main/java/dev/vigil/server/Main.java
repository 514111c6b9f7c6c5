package dev.vigil.server;

public final class Main {
    public static void main(String[] args) {
    }
}
