// Which checkpoint a training run starts from, and which --reset-* flags apply (resume.h).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/train/resume.h"
#include "core/train_options.h"

namespace fs = std::filesystem;
using trellis::CheckpointOptions;
using trellis::plan_resume;

namespace {

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("trellis_resume_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

}  // namespace

TEST_CASE("resume plan: fresh start, own checkpoint_last, copied checkpoint_last",
          "[unit][train]") {
  auto dir = fresh_dir("basic");
  CheckpointOptions o;
  o.save_dir = dir.string();
  o.reset_optimizer = o.reset_lr_scheduler = o.reset_dataloader = true;
  auto mine = [](const std::string&) { return true; };
  auto other = [](const std::string&) { return false; };
  CHECK_FALSE(plan_resume(o, mine).has_value());  // nothing there: from scratch

  touch(dir / "checkpoint_last.pt");
  auto own = plan_resume(o, mine);
  REQUIRE(own);
  CHECK(own->path == (dir / "checkpoint_last.pt").string());
  CHECK_FALSE(own->reset_optimizer);  // a relaunch does not reset again
  CHECK_FALSE(own->reset_dataloader);

  auto copied = plan_resume(o, other);  // FBK recipe: averaged model copied in
  REQUIRE(copied);
  CHECK(copied->reset_optimizer);
  CHECK(copied->reset_lr_scheduler);
  CHECK(copied->reset_dataloader);
  CHECK_FALSE(copied->reset_meters);
}

TEST_CASE("resume plan: --restore-file must exist, --finetune-from-model rules",
          "[unit][train]") {
  auto dir = fresh_dir("restore");
  CheckpointOptions o;
  o.save_dir = (dir / "save").string();
  auto never = [](const std::string&) { return false; };
  o.restore_file = (dir / "missing.pt").string();
  CHECK_THROWS_WITH(plan_resume(o, never),
                    Catch::Contains("missing.pt: no such file") && Catch::Contains("scratch"));
  touch(dir / "pre.pt");
  o.restore_file = (dir / "pre.pt").string();
  o.reset_optimizer = true;
  auto p = plan_resume(o, never);
  REQUIRE(p);
  CHECK(p->path == (dir / "pre.pt").string());
  CHECK(p->reset_optimizer);
  CHECK_FALSE(p->reset_dataloader);

  CheckpointOptions f;
  f.save_dir = (dir / "save").string();
  f.finetune_from_model = (dir / "pre.pt").string();
  auto ft = plan_resume(f, never);
  REQUIRE(ft);
  CHECK(ft->reset_optimizer);
  CHECK(ft->reset_lr_scheduler);
  CHECK(ft->reset_dataloader);
  CHECK(ft->reset_meters);
  f.reset_optimizer = true;
  CHECK_THROWS_AS(plan_resume(f, never), trellis::ConfigError);
  f.reset_optimizer = false;
  f.finetune_from_model = (dir / "nope.pt").string();
  CHECK_THROWS_WITH(plan_resume(f, never), Catch::Contains("nope.pt: no such file"));
  // Once the job has its own checkpoint_last.pt, --finetune-from-model is not applied again.
  fs::create_directories(dir / "save");
  touch(dir / "save" / "checkpoint_last.pt");
  auto again = plan_resume(f, [](const std::string&) { return true; });
  REQUIRE(again);
  CHECK(again->path == (dir / "save" / "checkpoint_last.pt").string());
  CHECK_FALSE(again->reset_optimizer);
}
