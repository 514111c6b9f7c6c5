package dev.vigil.server.serving;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeviceTest {
    @Test
    void parsesTheDeviceFlag() {
        assertEquals(new Device(false, 0, true), Device.parse("cpu"));
        assertEquals(new Device(true, 0, true), Device.parse("cuda"));
        assertEquals(new Device(true, 3, true), Device.parse("cuda:3"));
        Device auto = Device.parse(null);
        assertTrue(auto.cuda());
        assertFalse(auto.explicit());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Device.parse("gpu"));
        assertTrue(e.getMessage().contains("cpu, cuda or cuda:<id>"));
        assertThrows(IllegalArgumentException.class, () -> Device.parse("cuda:-1"));
        assertThrows(IllegalArgumentException.class, () -> Device.parse("cuda:x"));
        assertEquals(new Device(true, 2, true), Device.parse(" cuda:2 "));
        assertEquals(Device.auto(), Device.parse("  "));
        assertEquals("cuda:2", Device.parse("cuda:2").toString());
        assertEquals("cpu", Device.parse("cpu").toString());
        for (String bad : new String[]{"cuda:", "cuda:1x", "CUDA", "cuda0", "cuda:99999999999"}) {
            assertThrows(IllegalArgumentException.class, () -> Device.parse(bad), bad);
        }
    }
}
