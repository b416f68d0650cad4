package io.ssmspark.jobs.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The loss-curve PNG of a run (train loss per step, validation loss per evaluation), rendered headless. */
final class LossChart {
  static final String FILE = "loss.png";

  private LossChart() {}

  /** Renders the curves of {@code metrics} to a local PNG file. */
  static void render(MetricsLog metrics, String title, Path png) throws IOException {
    System.setProperty("java.awt.headless", "true");
    XYChart chart = new XYChartBuilder().width(900).height(500).title(title).xAxisTitle("step")
        .yAxisTitle("loss (nats/token)").build();
    double[][] train = metrics.series("train", "loss");
    double[][] validation = metrics.series("validation", "loss");
    if (train[0].length > 0) {
      chart.addSeries("train", train[0], train[1]).setMarker(SeriesMarkers.NONE);
    }
    if (validation[0].length > 0) {
      XYSeries v = chart.addSeries("validation", validation[0], validation[1]);
      v.setMarker(SeriesMarkers.CIRCLE);
    }
    Files.createDirectories(png.toAbsolutePath().getParent());
    BitmapEncoder.saveBitmap(chart, png.toString().replaceAll("\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
  }
}
