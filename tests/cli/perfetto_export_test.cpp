// perfetto_export_test.cpp: `greenscope export --format perfetto` writes a
// trace Perfetto reads: protoc decodes it with the export's schema, and the
// decoded packets pass check_perfetto() (perfetto_check.h: interning,
// clocks, tracks described, slices nested per track in time order, flows
// with both ends). On the sample traces and on a trace recorded from
// examples/photo_pipeline. The deflated export holds exactly the packets of
// the plain one.
#include <gtest/gtest.h>

#include <google/protobuf/text_format.h>

#include <filesystem>
#include <fstream>

#include "cli_runner.h"
#include "perfetto_check.h"

namespace gs::cli_test {
namespace {

namespace pb = perfetto::protos;

// decode() runs protoc --decode on `path` and parses its text back.
pb::Trace decode(const std::string& path, std::string* text = nullptr) {
  const RunResult r = run_command({"/bin/sh", "-c",
                                   std::string(PROTOC) + " --decode=perfetto.protos.Trace --proto_path=" +
                                       PERFETTO_PROTO_DIR + " " + PERFETTO_PROTO_DIR + "/perfetto_trace.proto < '" +
                                       path + "'"});
  EXPECT_EQ(r.code, 0) << "protoc --decode failed on " << path << ": " << r.err;
  pb::Trace trace;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(r.out, &trace)) << path;
  if (text != nullptr) *text = r.out;
  return trace;
}

std::string problems_of(const PerfettoCheck& c) {
  std::string all;
  for (const std::string& p : c.problems) all += p + "\n";
  return all;
}

// export_both() exports `trace` plain and deflated into `dir` and checks
// that the deflated one holds the plain one's packets; it returns the plain path.
std::string export_both(const std::string& trace, const std::string& dir) {
  const std::string name = std::filesystem::path(trace).stem().string();
  const std::string plain = dir + "/" + name + ".plain.perfetto-trace";
  const std::string packed = dir + "/" + name + ".perfetto-trace";
  RunResult r = greenscope({"export", "--format", "perfetto", "--uncompressed", trace, "-o", plain});
  EXPECT_EQ(r.code, 0) << trace << ": " << r.err;
  EXPECT_NE(r.err.find("wrote " + plain), std::string::npos) << r.err;
  r = greenscope({"export", "--format", "perfetto", trace, "-o", packed, "--quiet"});
  EXPECT_EQ(r.code, 0) << trace << ": " << r.err;
  std::string inflated, error;
  EXPECT_TRUE(inflate_bundles(read_file(packed), inflated, error)) << trace << ": " << error;
  EXPECT_TRUE(inflated == read_file(plain)) << trace << ": the deflated export differs from the plain one";
  EXPECT_LT(read_file(packed).size(), read_file(plain).size() / 2 + 4096) << trace;
  return plain;
}

std::uint64_t slices_named(const PerfettoCheck& c, const std::string& track_prefix, const std::string& slice) {
  std::uint64_t n = 0;
  for (const auto& [key, count] : c.slices)
    if (key.rfind(track_prefix, 0) == 0 && key.size() >= slice.size() + 3 &&
        key.compare(key.size() - slice.size() - 3, std::string::npos, " / " + slice) == 0)
      n += count;
  return n;
}

TEST(PerfettoExport, EverySampleTraceDecodesNestsAndFlows) {
  const std::string dir = make_temp_dir();
  for (const auto& entry : std::filesystem::directory_iterator(GS_TRACES_DIR)) {
    if (entry.path().extension() != ".gstrace") continue;
    const pb::Trace trace = decode(export_both(entry.path().string(), dir));
    const PerfettoCheck c = check_perfetto(trace);
    EXPECT_TRUE(c.problems.empty()) << entry.path() << ":\n" << problems_of(c);
    EXPECT_GT(c.slice_count, 0u) << entry.path();
    EXPECT_GT(c.flow_links, 0u) << entry.path();
  }
}

// A recorded photo_pipeline run: a track per greenlet under its thread's,
// running and waiting slices, the hub's loop, flows, and annotations.
TEST(PerfettoExport, ARecordedRunHasItsGreenletsLoopAndFlows) {
  const std::string dir = make_temp_dir();
  const std::string trace = dir + "/photos.gstrace";
  const RunResult rec = record_example(trace, {"--users", "8", "--latency-ms", "20"});
  ASSERT_TRUE(rec.code == 0 || rec.code == 1) << rec.err;  // 1: more users timed out (a loaded machine)
  std::string text;
  const pb::Trace decoded = decode(export_both(trace, dir), &text);
  const PerfettoCheck c = check_perfetto(decoded);
  EXPECT_TRUE(c.problems.empty()) << problems_of(c);
  for (const char* greenlet : {"main #", "saver #", "user-0 #", "user-7 #"}) {
    EXPECT_GT(slices_named(c, greenlet, "running"), 0u) << greenlet;
  }
  EXPECT_GT(slices_named(c, "user-0 #", "sleep"), 0u);  // a wait, named by its reason
  EXPECT_GT(slices_named(c, "photo_pipeline (hub: hub#", "poll"), 0u);
  EXPECT_GT(slices_named(c, "photo_pipeline (hub: hub#", "running"), 0u);  // the hub's own runs
  EXPECT_GT(c.flow_links, 10u);
  EXPECT_TRUE(c.annotations.count("what")) << "waits say what they wait on";
  EXPECT_GT(c.sequences, 1u);
  // The decoded text itself: interned names, the incremental clock, flows.
  EXPECT_NE(text.find("sequence_flags: 3"), std::string::npos);  // cleared + needs
  EXPECT_NE(text.find("is_incremental: true"), std::string::npos);
  EXPECT_NE(text.find("name: \"running\""), std::string::npos);
  EXPECT_NE(text.find("flow_ids: "), std::string::npos);
}

// A stall is a slice on its thread's "stalls" track, with the culprit and
// the most sampled stack, frame by frame, in its debug annotations.
TEST(PerfettoExport, StallsHaveTheirOwnTrackWithTheirStacks) {
  const std::string dir = make_temp_dir();
  std::string text;
  const pb::Trace decoded = decode(export_both(std::string(GS_TRACES_DIR) + "/stall-zoo.gstrace", dir), &text);
  const PerfettoCheck c = check_perfetto(decoded);
  EXPECT_TRUE(c.problems.empty()) << problems_of(c);
  std::uint64_t stalls = 0;
  for (const auto& [key, count] : c.slices)
    if (key.rfind("stalls / stall: ", 0) == 0) stalls += count;
  const RunResult report = greenscope({"stalls", std::string(GS_TRACES_DIR) + "/stall-zoo.gstrace", "--top", "0"});
  EXPECT_NE(report.out.find(std::to_string(stalls) + " stalls"), std::string::npos)
      << stalls << " stall slices; greenscope stalls says:\n" << report.out;
  for (const char* a : {"culprit", "kind", "samples", "stack"}) EXPECT_TRUE(c.annotations.count(a)) << a;
  EXPECT_NE(text.find("name: \"stack\"\n      array_values {\n        string_value: \"#0 "), std::string::npos);
  EXPECT_NE(text.find("render_report"), std::string::npos);  // stall_zoo's planted CPU-bound function
}

TEST(PerfettoExport, DefaultOutputIsBesideTheTraceAndWindowsAreRefused) {
  const std::string dir = make_temp_dir();
  const std::string trace = dir + "/zoo.gstrace";
  std::filesystem::copy_file(std::string(GS_TRACES_DIR) + "/stall-zoo.gstrace", trace);
  RunResult r = greenscope({"export", "--format", "perfetto", trace, "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/zoo.perfetto-trace"));
  r = greenscope({"export", "--format", "perfetto", trace, "--from", "1"});
  EXPECT_EQ(r.code, 2);
  r = greenscope({"export", "--format", "perfetto", dir + "/missing.gstrace", "-o", dir + "/missing.pf"});
  EXPECT_EQ(r.code, 1);
  EXPECT_FALSE(std::filesystem::exists(dir + "/missing.pf")) << "a failed export leaves no file";
}

// The check can fail: hand-made packets with each kind of mistake.
TEST(PerfettoCheck, FindsUnbalancedSlicesDanglingFlowsAndUninternedNames) {
  pb::Trace t;
  pb::TracePacket* d = t.add_packet();
  d->mutable_track_descriptor()->set_uuid(5);
  d->mutable_track_descriptor()->set_name("t");
  pb::TracePacket* first = t.add_packet();
  first->set_trusted_packet_sequence_id(2);
  first->set_sequence_flags(pb::TracePacket::SEQ_INCREMENTAL_STATE_CLEARED);
  pb::EventName* name = first->mutable_interned_data()->add_event_names();
  name->set_iid(1);
  name->set_name("running");
  const auto event = [&](std::uint64_t ts, pb::TrackEvent::Type type, std::uint64_t name_iid) {
    pb::TracePacket* p = t.add_packet();
    p->set_trusted_packet_sequence_id(2);
    p->set_timestamp(ts);
    p->mutable_track_event()->set_type(type);
    p->mutable_track_event()->set_track_uuid(5);
    if (name_iid != 0) p->mutable_track_event()->set_name_iid(name_iid);
    return p->mutable_track_event();
  };
  event(10, pb::TrackEvent::TYPE_SLICE_BEGIN, 1)->add_flow_ids(7);
  event(20, pb::TrackEvent::TYPE_SLICE_END, 0);
  EXPECT_NE(problems_of(check_perfetto(t)).find("flow 7 has one end"), std::string::npos);
  event(30, pb::TrackEvent::TYPE_SLICE_BEGIN, 1)->add_flow_ids(7);
  event(40, pb::TrackEvent::TYPE_SLICE_END, 0);
  EXPECT_TRUE(check_perfetto(t).problems.empty()) << problems_of(check_perfetto(t));  // both ends: well formed

  pb::Trace open = t;
  event(50, pb::TrackEvent::TYPE_SLICE_BEGIN, 1);
  EXPECT_NE(problems_of(check_perfetto(t)).find("left open"), std::string::npos);
  t = open;
  event(50, pb::TrackEvent::TYPE_SLICE_END, 0);
  EXPECT_NE(problems_of(check_perfetto(t)).find("an end without a begin"), std::string::npos);
  t = open;
  event(5, pb::TrackEvent::TYPE_INSTANT, 1);
  EXPECT_NE(problems_of(check_perfetto(t)).find("time goes back"), std::string::npos);
  t = open;
  event(60, pb::TrackEvent::TYPE_INSTANT, 9);
  EXPECT_NE(problems_of(check_perfetto(t)).find("not interned"), std::string::npos);
  t = open;
  event(60, pb::TrackEvent::TYPE_INSTANT, 1)->set_track_uuid(6);
  EXPECT_NE(problems_of(check_perfetto(t)).find("undescribed track"), std::string::npos);
}

}  // namespace
}  // namespace gs::cli_test
