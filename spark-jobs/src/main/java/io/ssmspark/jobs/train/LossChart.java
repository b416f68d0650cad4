package io.ssmspark.jobs.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The loss-curve PNG of a run, rendered headless: train loss per step and validation loss per evaluation against a
 * numeric step axis, and the validation answer accuracy on a right-hand axis when the data has answers.
 */
final class LossChart {
    static final String FILE = "loss.png";
    private static final int ACCURACY_AXIS = 1;

    private LossChart() {}

    /** Renders the curves of {@code metrics} to a local PNG file. */
    static void render(MetricsLog metrics, String title, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder()
                .width(900)
                .height(500)
                .title(title)
                .xAxisTitle("step")
                .yAxisTitle("loss (nats/token)")
                .build();
        chart.getStyler().setXAxisMin(0.0).setXAxisDecimalPattern("#");
        double[][] train = metrics.series("train", "loss");
        double[][] validation = metrics.series("validation", "loss");
        double[][] accuracy = metrics.series("validation", "answer_accuracy");
        if (train[0].length > 0) {
            chart.addSeries("train", train[0], train[1]).setMarker(SeriesMarkers.NONE);
            // XChart ticks equally spaced x values (steps 1, 2, 3, ...) at the data points, like categories; one hidden
            // point left of the axis (which starts at 0) breaks the even spacing, so the ticks fall on round numbers.
            XYSeries origin = chart.addSeries(" ", new double[] {-1}, new double[] {train[1][0]});
            origin.setMarker(SeriesMarkers.NONE).setShowInLegend(false);
        }
        if (validation[0].length > 0) {
            chart.addSeries("validation", validation[0], validation[1]).setMarker(SeriesMarkers.CIRCLE);
        }
        if (accuracy[0].length > 0) {
            XYSeries a = chart.addSeries("answer accuracy", accuracy[0], accuracy[1]);
            a.setMarker(SeriesMarkers.DIAMOND).setYAxisGroup(ACCURACY_AXIS);
            chart.setYAxisGroupTitle(ACCURACY_AXIS, "validation answer accuracy");
            chart.getStyler().setYAxisGroupPosition(ACCURACY_AXIS, Styler.YAxisPosition.Right);
            chart.getStyler().setYAxisMin(ACCURACY_AXIS, 0.0).setYAxisMax(ACCURACY_AXIS, 1.0);
        }
        Files.createDirectories(png.toAbsolutePath().getParent());
        BitmapEncoder.saveBitmap(chart, png.toString().replaceAll("\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
    }
}
