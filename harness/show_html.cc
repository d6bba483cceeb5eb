// The Timeline as one self-contained HTML page (no network: styles, the SVG
// diagram and the one small script are inline): what happened in a
// sentence, the KASAN-style report, a swim-lane diagram of the steps that
// matter, the xenbus states, the log, the scenario, and the commands to
// replay and minimise. Also the index page of a fuzz campaign.
#include <algorithm>

#include <fmt/format.h>

#include "harness/show.h"

namespace xfsim::harness {

namespace {

constexpr size_t kDiagramRows = 90;
constexpr int kStepColumn = 120;
constexpr int kLaneWidth = 250;
constexpr int kRowHeight = 24;
constexpr int kHeaderHeight = 44;
constexpr size_t kLabelChars = 38;

const char* const kStyle = R"(
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:70em;color:#222;line-height:1.4}
h1{font-size:1.4em;margin-bottom:.2em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ccc}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em}
.report{background:#1e1e1e;color:#ddd}.report .bug{color:#ff6b6b;font-weight:bold}.report .hdr{color:#ffd166}
.meta td{padding:0 1em 0 0}.summary{font-size:1.05em;background:#fff4e5;border-left:4px solid #e67e22;padding:.5em 1em}
table.states{border-collapse:collapse}table.states td,table.states th{border:1px solid #ccc;padding:2px 8px;font-size:.9em}
svg text{font-family:ui-monospace,monospace;font-size:11px}svg .lane.sel rect.run{stroke:#000;stroke-width:2}
code{background:#f0f0f0;padding:0 .2em}
)";

std::string clip(const std::string& text, size_t n) {
  return text.size() <= n ? text : text.substr(0, n - 1) + "\u2026";
}

std::string steps_of(const StoryRow& row) {
  return row.first_step == row.last_step ? fmt::format("step {}", row.first_step)
                                         : fmt::format("steps {}-{}", row.first_step, row.last_step);
}

std::string shell_quote(const std::string& text) {
  if (!text.empty() &&
      text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:+=,") ==
          std::string::npos)
    return text;
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The KASAN-style report, its headline and section headers coloured.
std::string report_html(const sim::Violation& v) {
  std::string out;
  const std::string report = v.report();
  for (size_t start = 0; start < report.size();) {
    size_t end = report.find('\n', start);
    if (end == std::string::npos) end = report.size();
    const std::string line = report.substr(start, end - start);
    start = end + 1;
    const std::string escaped = html_escape(line);
    if (line.rfind("BUG:", 0) == 0 || line.rfind("WARNING:", 0) == 0 || line.rfind("INFO:", 0) == 0 ||
        line.rfind("refcount_t", 0) == 0)
      out += "<span class=\"bug\">" + escaped + "</span>\n";
    else if (line.rfind("Allocated by", 0) == 0 || line.rfind("Freed by", 0) == 0 || line.rfind("Call Trace", 0) == 0)
      out += "<span class=\"hdr\">" + escaped + "</span>\n";
    else
      out += escaped + "\n";
  }
  return out;
}

std::string moment(const sim::StackRecord& where) {
  return fmt::format("<b>{}</b> ({}) in <code>{}</code> at step {}, t={} ms", html_escape(where.task),
                     html_escape(where.context), html_escape(where.function()), where.step, where.time_ms);
}

// One sentence a reader new to xfsim can start from.
std::string summary_html(const Timeline& t) {
  const sim::Violation* v = t.result.first();
  if (v == nullptr) {
    return fmt::format("<p class=\"summary\">The run ends <b>{}</b>: no oracle reported anything.</p>",
                       html_escape(t.result.verdict()));
  }
  std::string object = v->object_type.empty() ? std::string("the object")
                                              : fmt::format("the <code>{}</code> {}", html_escape(v->object_type),
                                                            html_escape(v->object_name));
  std::string out = fmt::format("<p class=\"summary\"><b>{}</b>: ", html_escape(v->kind_name()));
  if (v->allocated) out += fmt::format("{} was allocated by {}; ", object, moment(*v->allocated));
  if (v->freed) out += fmt::format("it was freed by {}; ", moment(*v->freed));
  out += fmt::format("then {} {} it: {}.", moment(v->where),
                     v->access.empty() ? std::string("reached") : "made a " + html_escape(v->access) + " of",
                     html_escape(v->detail));
  return out + "</p>";
}

std::string diagram_svg(const Timeline& t, const Story& story) {
  const int lanes = static_cast<int>(story.lanes.size());
  const int width = kStepColumn + lanes * kLaneWidth + 10;
  const int height = kHeaderHeight + static_cast<int>(story.rows.size()) * kRowHeight + 10;
  std::string out = fmt::format(
      "<svg id=\"diagram\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\">\n"
      "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
      "orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" fill=\"#2c7be5\"/></marker></defs>\n",
      width, height, width, height);
  const auto lane_x = [](uint32_t lane) { return kStepColumn + static_cast<int>(lane) * kLaneWidth; };
  for (int i = 0; i < lanes; ++i) {
    const ShowTask* task = t.task(story.lanes[i]);
    const int x = lane_x(i);
    out += fmt::format(
        "<g class=\"lane\" data-lane=\"{}\"><line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#bbb\" "
        "stroke-dasharray=\"3,3\"/><text x=\"{}\" y=\"16\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>"
        "<text x=\"{}\" y=\"32\" text-anchor=\"middle\" fill=\"#666\">{} \u00b7 {}</text></g>\n",
        i, x + kLaneWidth / 2, kHeaderHeight - 6, x + kLaneWidth / 2, height, x + kLaneWidth / 2,
        html_escape(task->name), x + kLaneWidth / 2, html_escape(task->context), html_escape(task->domain));
  }
  int y = kHeaderHeight;
  for (const StoryRow& row : story.rows) {
    const int mid = y + kRowHeight / 2 + 4;
    switch (row.kind) {
      case StoryRow::Kind::kFold:
        out += fmt::format(
            "<g class=\"fold\"><rect x=\"2\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f2f2f2\" "
            "stroke=\"#ccc\" stroke-dasharray=\"4,2\"/><text x=\"8\" y=\"{}\" fill=\"#777\">\u22ef {}, {} (t={} "
            "ms)</text></g>\n",
            y + 2, width - 4, kRowHeight - 4, mid, html_escape(steps_of(row)), html_escape(row.label), row.time_ms);
        break;
      case StoryRow::Kind::kFlow: {
        const int x1 = lane_x(row.lane) + kLaneWidth / 2, x2 = lane_x(row.to_lane) + kLaneWidth / 2;
        out += fmt::format(
            "<g class=\"flow\"><line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#2c7be5\" "
            "marker-end=\"url(#arrow)\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#2c7be5\">{} "
            "(step {} \u2192 {})</text></g>\n",
            x1, y + kRowHeight / 2, x2, y + kRowHeight / 2, (x1 + x2) / 2, y + kRowHeight / 2 - 3,
            html_escape(row.label), row.first_step, row.last_step);
        break;
      }
      case StoryRow::Kind::kRun: {
        const bool marked = !row.mark.empty();
        std::string functions;
        for (const auto& f : row.functions) functions += (functions.empty() ? "" : " \u203a ") + f;
        const std::string label = marked ? row.mark : functions;
        out += fmt::format(
            "<g class=\"run{}\" data-lane=\"{}\"><title>{} (t={} ms): {}</title><text x=\"4\" y=\"{}\" "
            "fill=\"#666\">{}</text><rect class=\"run\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\" "
            "fill=\"{}\" stroke=\"{}\"/><text x=\"{}\" y=\"{}\"{}>{}</text></g>\n",
            marked ? " moment" : "", row.lane, html_escape(steps_of(row)), row.time_ms, html_escape(functions), mid,
            html_escape(fmt::format("{} {}ms", steps_of(row), row.time_ms)), lane_x(row.lane) + 4, y + 2,
            kLaneWidth - 8, kRowHeight - 4, marked ? "#ffd6d6" : "#e8f0fe", marked ? "#d62828" : "#9ab",
            lane_x(row.lane) + 8, mid, marked ? " font-weight=\"bold\" fill=\"#a00\"" : "",
            html_escape(clip(label, kLabelChars)));
        break;
      }
    }
    y += kRowHeight;
  }
  return out + "</svg>\n";
}

std::string states_html(const Timeline& t) {
  std::string out = "<table class=\"states\"><tr><th>step</th><th>t (ms)</th><th>frontend</th><th>backend</th></tr>\n";
  std::string front = "Initialising", back = "Initialising";
  for (size_t i = 0; i < t.counters.size(); ++i) {
    const ShowCounter& c = t.counters[i];
    (c.track.rfind("frontend", 0) == 0 ? front : back) = c.state;
    if (i + 1 < t.counters.size() && t.counters[i + 1].step == c.step) continue;  // one row per step
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", c.step, c.time_ms, html_escape(front),
                       html_escape(back));
  }
  return out +
         "</table>\n<p>The backend's state as the frontend read it (its <code>displback_changed</code> "
         "log line).</p>\n";
}

const char* const kScript = R"(
(function(){
  var lanes=document.querySelectorAll('#diagram g.lane');
  lanes.forEach(function(g){g.style.cursor='pointer';g.addEventListener('click',function(){
    var n=g.getAttribute('data-lane');
    document.querySelectorAll('#diagram g.run').forEach(function(r){
      r.style.opacity=(r.getAttribute('data-lane')===n||r.style.opacity==='0.25')?'1':'0.25';});});});
  document.body.setAttribute('data-rendered', String(document.querySelectorAll('#diagram g.run').length));
})();
)";

}  // namespace

std::string render_html(const Timeline& t) {
  const sim::Violation* v = t.result.first();
  const Story story = build_story(t, kDiagramRows);
  const std::string title = v ? v->signature() : t.scenario_name + ": " + t.result.verdict();
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>xfsim: {}</title>\n"
      "<meta name=\"viewport\" content=\"width=device-width\"><style>{}</style></head>\n<body>\n",
      html_escape(title), kStyle);
  out += fmt::format("<h1>{}</h1>\n", html_escape(title));
  out += fmt::format(
      "<table class=\"meta\"><tr><td>scenario</td><td><code>{}</code> ({})</td></tr><tr><td>driver variant</td>"
      "<td><code>{}</code></td></tr><tr><td>verdict</td><td>{} (recorded: {})</td></tr><tr><td>run</td><td>{} "
      "steps, {} ms of virtual time, interleaving {:016x}</td></tr></table>\n",
      html_escape(t.scenario_name), html_escape(t.trace_path), html_escape(t.variant), html_escape(t.result.verdict()),
      html_escape(t.recorded_verdict), t.result.steps, t.result.time_ms, t.result.interleaving_hash);
  out += summary_html(t);
  out += "<h2 id=\"report\">Report</h2>\n";
  if (t.result.violations.empty()) out += "<p>No violation.</p>\n";
  for (const auto& violation : t.result.violations)
    out += "<pre class=\"report\">" + report_html(violation) + "</pre>\n";
  out += fmt::format(
      "<h2>Sequence</h2>\n<p>One lane per task that touched the object (allocated it, freed it, reached it after) "
      "and the backend it talked to. Boxes: what a task did between two scheduling points (the modelled kernel "
      "functions it entered); red: the moments of the report; arrows: event-channel notifications (ring requests, "
      "answers, events); grey: steps folded (earlier, or by other tasks). Steps are numbered as in the trace file "
      "(from 0); a report's \"at step N\" is the step counter after the step ran, N - 1 here. Click a lane's name "
      "to fade the others.</p>\n{}",
      diagram_svg(t, story));
  out += "<h2>Xenbus states</h2>\n" + states_html(t);
  out += "<h2>Log</h2>\n<details><summary>" + std::to_string(t.log.size()) + " lines</summary><pre>";
  for (const auto& line : t.log) out += html_escape(line) + "\n";
  out += "</pre></details>\n";
  out += "<h2>Scenario</h2>\n<details><summary>the scenario as the trace embeds it</summary><pre>" +
         html_escape(t.scenario.dump(2)) + "</pre></details>\n";
  const std::string trace = shell_quote(t.trace_path);
  out += fmt::format(
      "<h2>Commands</h2>\n<pre>xfsim replay {0}                # the same run, its verdict checked\n"
      "xfsim minimize {0} --out min.json   # the smallest scenario that still reports it\n"
      "xfsim show {0} --format perfetto -o run.json   # every task's timeline (ui.perfetto.dev)\n"
      "xfsim show {0} --format mermaid   # a diagram for a mail or an issue</pre>\n",
      html_escape(trace));
  out += fmt::format("<script>{}</script>\n</body></html>\n", kScript);
  return out;
}

namespace {

// Distinct interleavings (blue, left scale) and distinct findings (red, right
// scale) against schedules run, each line scaled to its own maximum.
std::string campaign_chart(const std::vector<CampaignPoint>& progress) {
  if (progress.empty()) return "";
  std::vector<CampaignPoint> points;
  const size_t n = progress.size();
  const size_t keep = std::min(n, kCampaignChartPoints);
  for (size_t i = 0; i < keep; ++i) points.push_back(progress[keep == 1 ? n - 1 : i * (n - 1) / (keep - 1)]);
  uint64_t max_x = 1, max_i = 1, max_f = 1;
  for (const auto& p : points) {
    max_x = std::max(max_x, p.schedules);
    max_i = std::max(max_i, p.interleavings);
    max_f = std::max(max_f, p.findings);
  }
  constexpr double kLeft = 70, kRight = 570, kTop = 20, kBottom = 170;
  const auto x = [&](uint64_t v) {
    return kLeft + (kRight - kLeft) * static_cast<double>(v) / static_cast<double>(max_x);
  };
  const auto y = [&](uint64_t v, uint64_t max) {
    return kBottom - (kBottom - kTop) * static_cast<double>(v) / static_cast<double>(max);
  };
  std::string interleavings, findings;
  for (const auto& p : points) {
    interleavings +=
        fmt::format("{}{:.1f},{:.1f}", interleavings.empty() ? "" : " ", x(p.schedules), y(p.interleavings, max_i));
    findings += fmt::format("{}{:.1f},{:.1f}", findings.empty() ? "" : " ", x(p.schedules), y(p.findings, max_f));
  }
  std::string out =
      "<h2>Distinct interleavings and findings over the campaign</h2>\n"
      "<svg id=\"progress\" width=\"640\" height=\"210\" viewBox=\"0 0 640 210\" role=\"img\" "
      "aria-label=\"distinct interleavings and distinct findings against schedules run\">\n";
  out += fmt::format(
      "<path d=\"M{0} {1} V{2} H{3} V{1}\" fill=\"none\" stroke=\"#888\"/>\n"
      "<text x=\"{0}\" y=\"{4}\" text-anchor=\"middle\" font-size=\"11\">0</text>"
      "<text x=\"{3}\" y=\"{4}\" text-anchor=\"middle\" font-size=\"11\">{5}</text>"
      "<text x=\"{6}\" y=\"{7}\" text-anchor=\"middle\" font-size=\"11\">schedules run</text>\n"
      "<text x=\"{8}\" y=\"{1}\" text-anchor=\"end\" font-size=\"11\" fill=\"#1f5fa8\">{9}</text>"
      "<text x=\"{8}\" y=\"{2}\" text-anchor=\"end\" font-size=\"11\" fill=\"#1f5fa8\">0</text>"
      "<text x=\"{10}\" y=\"{1}\" font-size=\"11\" fill=\"#c0392b\">{11}</text>"
      "<text x=\"{10}\" y=\"{2}\" font-size=\"11\" fill=\"#c0392b\">0</text>\n",
      kLeft, kTop, kBottom, kRight, kBottom + 15, max_x, (kLeft + kRight) / 2, kBottom + 32, kLeft - 6, max_i,
      kRight + 6, max_f);
  out += fmt::format(
      "<polyline class=\"interleavings\" fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\" points=\"{}\"/>\n"
      "<polyline class=\"findings\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" points=\"{}\"/>\n"
      "</svg>\n<p><span style=\"color:#1f5fa8\">distinct interleavings</span> (left scale, up to {}) and "
      "<span style=\"color:#c0392b\">distinct findings</span> (right scale, up to {}) against schedules run, "
      "at {} point(s): every 256 schedules, the start and the end.</p>\n",
      interleavings, findings, max_i, max_f, points.size());
  return out;
}

}  // namespace

std::string render_campaign_index(const std::string& scenario, const std::string& variant, uint64_t schedules,
                                  double seconds, uint64_t interleavings,
                                  const std::vector<CampaignFindingLink>& findings,
                                  const std::vector<CampaignPoint>& progress) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>xfsim campaign: {}</title>"
      "<style>{}</style></head>\n<body>\n<h1>xfsim campaign: {} under {}</h1>\n"
      "<p>{} schedules in {:.1f} s ({:.0f} schedules/s), about {} distinct interleavings, {} distinct "
      "finding(s).</p>\n",
      html_escape(scenario), kStyle, html_escape(scenario), html_escape(variant), schedules, seconds,
      static_cast<double>(schedules) / std::max(seconds, 1e-9), interleavings, findings.size());
  out +=
      "<table class=\"states\"><tr><th>signature</th><th>verdict</th><th>first at schedule</th><th>files</th></tr>\n";
  for (const auto& f : findings) {
    out += fmt::format(
        "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td><a href=\"{}\">trace</a>{}</td></tr>\n",
        html_escape(f.html), html_escape(f.signature), html_escape(f.verdict), f.schedule_index, html_escape(f.trace),
        f.scenario.empty() ? "" : fmt::format(", <a href=\"{}\">scenario</a>", html_escape(f.scenario)));
  }
  out += "</table>\n";
  out += campaign_chart(progress);
  return out + "</body></html>\n";
}

}  // namespace xfsim::harness
