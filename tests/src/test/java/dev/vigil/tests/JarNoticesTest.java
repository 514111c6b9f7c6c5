package dev.vigil.tests;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The fat jar bundles third-party code, so it carries Vigil's license and the third-party notices. */
class JarNoticesTest {
    private static final Path JAR = Path.of("..", "server", "target", "vigil.jar");

    @Test
    void licenseAndNoticesAreInTheJarUnchanged() throws IOException {
        assertTrue(Files.isRegularFile(JAR), JAR + " is built by the package phase (mvn package, before the tests module)");
        try (JarFile jar = new JarFile(JAR.toFile())) {
            for (String name : new String[]{"LICENSE", "THIRD-PARTY-NOTICES.md"}) {
                String entry = "META-INF/" + name;
                assertEquals(1, count(jar, entry), entry + " once in " + JAR);
                try (InputStream in = jar.getInputStream(jar.getEntry(entry))) {
                    assertArrayEquals(Files.readAllBytes(Path.of("..", name)), in.readAllBytes(),
                            entry + " is the repository's " + name);
                }
            }
        }
    }

    private static int count(JarFile jar, String name) {
        int n = 0;
        for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
            if (e.nextElement().getName().equals(name)) {
                n++;
            }
        }
        return n;
    }
}
