package io.ssmspark.jobs.score;

import java.util.ArrayList;
import java.util.List;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;

/** Every event of one logger, at every level, as "LEVEL message", while open (the console does not see them). */
public final class LogCapture implements AutoCloseable {
    private final String logger;
    private final List<String> events = new ArrayList<>();

    public LogCapture(Class<?> logged) {
        logger = logged.getName();
        AbstractAppender appender = new AbstractAppender("capture-" + logger, null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                synchronized (events) {
                    events.add(event.getLevel() + " " + event.getMessage().getFormattedMessage());
                }
            }
        };
        appender.start();
        LoggerConfig config = new LoggerConfig(logger, Level.ALL, false);
        config.addAppender(appender, Level.ALL, null);
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        context.getConfiguration().addLogger(logger, config);
        context.updateLoggers();
    }

    public List<String> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    @Override
    public void close() {
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        Configuration configuration = context.getConfiguration();
        configuration.removeLogger(logger);
        context.updateLoggers();
    }
}
