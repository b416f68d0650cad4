package io.ssmspark.jobs.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.resource.ResourceInformation$;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** cluster-conf/gpu-discovery.sh against a fake nvidia-smi; its output must parse as Spark parses it. */
class GpuDiscoveryScriptTest {

    private static final Path SCRIPT = ClusterConfTemplatesTest.CLUSTER_CONF.resolve("gpu-discovery.sh");

    @TempDir
    Path dir;

    private record Result(int exitCode, String stdout, String stderr) {}

    private Path fakeNvidiaSmi(String output, int exitCode) throws IOException {
        Path fake = dir.resolve("nvidia-smi");
        Files.writeString(
                fake,
                "#!/bin/sh\n"
                        + "[ \"$1 $2\" = \"--query-gpu=index --format=csv,noheader\" ] || { echo bad args: \"$@\" >&2; exit 9; }\n"
                        + "printf '" + output + "'\nexit " + exitCode + "\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        return fake;
    }

    private Result run(Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder("bash", SCRIPT.toString());
        builder.environment().remove("CUDA_VISIBLE_DEVICES");
        builder.environment().putAll(env);
        Process process = builder.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(process.waitFor(), out.strip(), err.strip());
    }

    private static ResourceInformation parse(String json) {
        return ResourceInformation$.MODULE$.parseJson(json);
    }

    @Test
    void printsEveryGpuInSparksResourceJson() throws Exception {
        Path smi = fakeNvidiaSmi("0\\n1\\n2\\n3\\n", 0);
        Result result = run(Map.of("NVIDIA_SMI", smi.toString()));
        assertEquals(0, result.exitCode(), result.stderr());
        assertEquals("{\"name\": \"gpu\", \"addresses\": [\"0\",\"1\",\"2\",\"3\"]}", result.stdout());
        ResourceInformation gpus = parse(result.stdout());
        assertEquals("gpu", gpus.name());
        assertArrayEquals(new String[] {"0", "1", "2", "3"}, gpus.addresses());
    }

    @Test
    void reportsOnlyTheDevicesCudaMayUse() throws Exception {
        Path smi = fakeNvidiaSmi("0\\n1\\n2\\n3\\n", 0);
        Result result = run(Map.of("NVIDIA_SMI", smi.toString(), "CUDA_VISIBLE_DEVICES", "3, 1"));
        assertEquals(0, result.exitCode(), result.stderr());
        assertArrayEquals(new String[] {"1", "3"}, parse(result.stdout()).addresses());
    }

    @Test
    void noGpuGivesAnEmptyList() throws Exception {
        Result result = run(Map.of("NVIDIA_SMI", fakeNvidiaSmi("", 0).toString()));
        assertEquals(0, result.exitCode(), result.stderr());
        assertEquals("{\"name\": \"gpu\", \"addresses\": []}", result.stdout());
        assertEquals(0, parse(result.stdout()).addresses().length);
    }

    @Test
    void failuresExitNonZeroWithAMessage() throws Exception {
        Result missing = run(Map.of("NVIDIA_SMI", dir.resolve("absent-smi").toString()));
        assertEquals(1, missing.exitCode());
        assertEquals(
                "gpu-discovery.sh: '" + dir.resolve("absent-smi") + "' not found; install the NVIDIA driver"
                        + " or set NVIDIA_SMI",
                missing.stderr());

        Result failing = run(Map.of(
                "NVIDIA_SMI", fakeNvidiaSmi("NVIDIA-SMI has failed\\n", 9).toString()));
        assertEquals(1, failing.exitCode());
        assertEquals(
                "gpu-discovery.sh: '" + dir.resolve("nvidia-smi") + " --query-gpu=index --format=csv,noheader'"
                        + " failed",
                failing.stderr());

        Result garbage =
                run(Map.of("NVIDIA_SMI", fakeNvidiaSmi("0\\nGPU-8f2c\\n", 0).toString()));
        assertEquals(1, garbage.exitCode());
        assertEquals("gpu-discovery.sh: expected a device index from nvidia-smi, found 'GPU-8f2c'", garbage.stderr());
        assertEquals("", garbage.stdout());
    }
}
