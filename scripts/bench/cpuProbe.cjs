// Preloaded (node --require) into every server the benchmark starts: on "cpu" over the IPC channel it
// answers with the process's own process.cpuUsage() and RSS, so a row's server CPU per request is the
// server's and not the load generator's. Inert when there is no IPC channel.
if (process.send) {
  process.on("message", (message) => {
    if (message === "cpu") process.send({ cpu: process.cpuUsage(), rss: process.memoryUsage.rss() });
  });
  process.channel.unref(); // the channel keeps nothing alive
}
