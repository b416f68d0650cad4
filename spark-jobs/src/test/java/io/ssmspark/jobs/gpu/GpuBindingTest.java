package io.ssmspark.jobs.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.apache.spark.SparkConf;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;

class GpuBindingTest {

    /** Records which devices the binding chose, instead of touching ND4J. */
    private static final class FakeBackend implements ComputeBackend {
        final boolean cuda;
        final int devices;
        final List<Integer> boundDevices = new ArrayList<>();

        FakeBackend(boolean cuda, int devices) {
            this.cuda = cuda;
            this.devices = devices;
        }

        @Override
        public String name() {
            return cuda ? "org.nd4j.linalg.jcublas.JCublasBackend" : "org.nd4j.linalg.cpu.nativecpu.CpuBackend";
        }

        @Override
        public boolean isCuda() {
            return cuda;
        }

        @Override
        public int visibleDeviceCount() {
            return devices;
        }

        @Override
        public void bindCurrentThread(int deviceIndex) {
            boundDevices.add(deviceIndex);
        }
    }

    private static Map<String, String[]> gpus(String... addresses) {
        return Map.of("gpu", addresses);
    }

    @Test
    void bindsTheAssignedAddressAsTheDeviceIndex() {
        FakeBackend backend = new FakeBackend(true, 4);
        OptionalInt device = new GpuBinding(backend, null).bind(1, gpus("2"), "task 7");
        assertEquals(OptionalInt.of(2), device);
        assertEquals(List.of(2), backend.boundDevices);
    }

    @Test
    void mapsAddressThroughCudaVisibleDevices() {
        // CUDA renumbers CUDA_VISIBLE_DEVICES=5,3 as devices 0 and 1: address 3 is device 1.
        FakeBackend backend = new FakeBackend(true, 2);
        assertEquals(OptionalInt.of(1), new GpuBinding(backend, "5,3").bind(1, gpus("3"), "task 1"));
        assertEquals(OptionalInt.of(0), new GpuBinding(backend, " 5, 3 ").bind(1, gpus("5"), "task 2"));
        assertEquals(List.of(1, 0), backend.boundDevices);
    }

    @Test
    void noGpuRequestedBindsNothingEvenOnCpuBackend() {
        FakeBackend backend = new FakeBackend(false, 0);
        assertEquals(OptionalInt.empty(), new GpuBinding(backend, null).bind(0, Map.of(), "task 1"));
        assertTrue(backend.boundDevices.isEmpty());
    }

    @Test
    void gpuRequestedWithCpuBackendIsAnError() {
        FakeBackend backend = new FakeBackend(false, 0);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> new GpuBinding(backend, null).bind(1, gpus("0"), "task 3"));
        assertEquals(
                "spark.task.resource.gpu.amount=1 requests a GPU for task 3, but the ND4J backend loaded is"
                        + " org.nd4j.linalg.cpu.nativecpu.CpuBackend (CPU). Build the job jar with"
                        + " 'mvn -Pcuda -DskipTests package'.",
                e.getMessage());
        assertTrue(backend.boundDevices.isEmpty());
    }

    @Test
    void taskWithoutGpuAddressIsAnError() {
        FakeBackend backend = new FakeBackend(true, 2);
        GpuBinding binding = new GpuBinding(backend, null);
        IllegalArgumentException missing = assertThrows(
                IllegalArgumentException.class, () -> binding.bind(1, Map.of("fpga", new String[] {"0"}), "task 4"));
        assertEquals(
                "task 4 got no 'gpu' resource address although spark.task.resource.gpu.amount=1;"
                        + " task resources were {fpga=[0]}. Check spark.executor.resource.gpu.amount and"
                        + " spark.executor.resource.gpu.discoveryScript.",
                missing.getMessage());
        IllegalArgumentException empty =
                assertThrows(IllegalArgumentException.class, () -> binding.bind(1, gpus(), "task 5"));
        assertTrue(empty.getMessage().startsWith("task 5 got no 'gpu' resource address"), empty.getMessage());
        assertTrue(backend.boundDevices.isEmpty());
    }

    @Test
    void moreThanOneAddressPerTaskIsAnError() {
        FakeBackend backend = new FakeBackend(true, 2);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> new GpuBinding(backend, null).bind(1, gpus("0", "1"), "task 6"));
        assertEquals(
                "task 6 got 2 gpu addresses [0, 1]; expected exactly one (one task per GPU,"
                        + " spark.task.resource.gpu.amount=1)",
                e.getMessage());
        assertTrue(backend.boundDevices.isEmpty());
    }

    @Test
    void addressThatIsNotADeviceIndexIsAnError() {
        GpuBinding binding = new GpuBinding(new FakeBackend(true, 2), null);
        for (String bad : new String[] {"GPU-8f2c", "-1", "1.0", ""}) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> binding.bind(1, gpus(bad), "task 8"));
            assertEquals(
                    "task 8 got gpu address '" + bad + "': expected a non-negative device index as printed by"
                            + " cluster-conf/gpu-discovery.sh",
                    e.getMessage());
        }
    }

    @Test
    void addressBeyondTheVisibleDevicesIsAnError() {
        FakeBackend backend = new FakeBackend(true, 2);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> new GpuBinding(backend, null).bind(1, gpus("2"), "task 9"));
        assertEquals(
                "task 9 got gpu address 2 (CUDA device 2), but the CUDA backend sees 2 device(s):"
                        + " expected an index in [0, 2)",
                e.getMessage());
        assertTrue(backend.boundDevices.isEmpty());
        // Address 1 is the last valid one.
        assertEquals(OptionalInt.of(1), new GpuBinding(backend, null).bind(1, gpus("1"), "task 10"));
    }

    @Test
    void addressNotInCudaVisibleDevicesIsAnError() {
        GpuBinding binding = new GpuBinding(new FakeBackend(true, 2), "2,3");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> binding.bind(1, gpus("0"), "task 11"));
        assertEquals(
                "task 11 got gpu address 0, which is not in the visible device list CUDA_VISIBLE_DEVICES=2,3",
                e.getMessage());
        GpuBinding uuids = new GpuBinding(new FakeBackend(true, 1), "GPU-8f2c");
        IllegalArgumentException u =
                assertThrows(IllegalArgumentException.class, () -> uuids.bind(1, gpus("0"), "task 12"));
        assertEquals(
                "CUDA_VISIBLE_DEVICES=GPU-8f2c: expected comma-separated device indices to map gpu addresses,"
                        + " found 'GPU-8f2c'",
                u.getMessage());
    }

    @Test
    void gpusPerTaskReadsZeroOrOneAndRejectsTheRest() {
        assertEquals(0.0, GpuBinding.gpusPerTask(new SparkConf(false)));
        assertEquals(1.0, GpuBinding.gpusPerTask(new SparkConf(false).set("spark.task.resource.gpu.amount", "1")));
        assertEquals(0.0, GpuBinding.gpusPerTask(new SparkConf(false).set("spark.task.resource.gpu.amount", "0")));
        IllegalArgumentException two = assertThrows(
                IllegalArgumentException.class,
                () -> GpuBinding.gpusPerTask(new SparkConf(false).set("spark.task.resource.gpu.amount", "2")));
        assertEquals(
                "spark.task.resource.gpu.amount: expected 1 (one task per GPU) or 0 (no GPU), found 2",
                two.getMessage());
        IllegalArgumentException half = assertThrows(
                IllegalArgumentException.class,
                () -> GpuBinding.gpusPerTask(new SparkConf(false).set("spark.task.resource.gpu.amount", "0.5")));
        assertEquals(
                "spark.task.resource.gpu.amount: expected 1 (one task per GPU) or 0 (no GPU), found 0.5",
                half.getMessage());
        IllegalArgumentException text = assertThrows(
                IllegalArgumentException.class,
                () -> GpuBinding.gpusPerTask(new SparkConf(false).set("spark.task.resource.gpu.amount", "one")));
        assertEquals(
                "spark.task.resource.gpu.amount: expected a number of GPUs per task, found 'one'", text.getMessage());
    }

    @Test
    void driverCheckFailsWhenGpusAreRequestedWithTheCpuJar() {
        // The default (CPU) build has no CUDA backend class on the test classpath.
        GpuBinding.requireCudaBackendIfGpusRequested(new SparkConf(false));
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> GpuBinding.requireCudaBackendIfGpusRequested(
                        new SparkConf(false).set("spark.task.resource.gpu.amount", "1")));
        assertTrue(
                e.getMessage()
                        .startsWith("spark.task.resource.gpu.amount=1 requests a GPU per task, but ND4J's"
                                + " CUDA backend (org.nd4j.linalg.jcublas.JCublasBackend) is not on the classpath"),
                e.getMessage());
    }

    @Test
    void addressesOfCopiesSparkResourceInformation() {
        Map<String, String[]> plain =
                GpuBinding.addressesOf(Map.of("gpu", new ResourceInformation("gpu", new String[] {"0", "3"})));
        assertEquals(List.of("0", "3"), List.of(plain.get("gpu")));
        assertEquals(1, plain.size());
    }

    @Test
    void bindCurrentTaskOutsideATaskIsAnError() {
        IllegalStateException e =
                assertThrows(IllegalStateException.class, () -> GpuBinding.bindCurrentTask(new SparkConf(false)));
        assertEquals(
                "GpuBinding.bindCurrentTask must be called inside a Spark task (TaskContext.get() is null)",
                e.getMessage());
    }
}
