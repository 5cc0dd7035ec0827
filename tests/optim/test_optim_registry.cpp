// Every built-in optimizer and schedule is registered, documented, and builds with its defaults.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/interfaces/lr_scheduler.h"
#include "core/interfaces/optimizer.h"

using namespace trellis;

TEST_CASE("built-in LR schedules and optimizers are registered", "[unit][lr_scheduler][optimizer]") {
  for (const char* name : {"inverse_sqrt", "fixed", "polynomial_decay", "cosine", "tri_stage",
                           "reduce_lr_on_plateau", "onecycle"}) {
    INFO(name);
    REQUIRE(lr_scheduler_registry().contains(name));
    const auto& info = lr_scheduler_registry().info(name);
    CHECK(!info.help.empty());
    CHECK(info.origin.find("lr_scheduler/" + std::string(name) + ".cpp") != std::string::npos);
    AnyOptions defaults = lr_scheduler_registry().make_options(name);
    Fields fields = defaults.fields();
    for (const auto& f : fields.list()) {
      INFO(f.name);
      CHECK(!f.help.empty());
    }
    LrSchedulerContext ctx;
    ctx.lr = {1e-3};
    ctx.max_update = 1000;
    AnyOptions o = lr_scheduler_registry().make_options(name);
    if (std::string(name) == "tri_stage") {
      // fairseq's defaults give tri_stage no stages at all.
      CHECK_THROWS_AS(lr_scheduler_registry().create(name, o, ctx), ConfigError);
    } else {
      auto s = lr_scheduler_registry().create(name, o, ctx);
      CHECK(std::isfinite(s->step_update(0)));
    }
  }
  for (const char* name : {"adam", "adamw", "sgd"}) {
    INFO(name);
    REQUIRE(optimizer_registry().contains(name));
    CHECK(optimizer_registry().info(name).origin.find("optim/" + std::string(name) + ".cpp") !=
          std::string::npos);
    auto opt = optimizer_registry().create(name, optimizer_registry().make_options(name),
                                           {torch::zeros({2}).set_requires_grad(true)},
                                           OptimizerContext{1e-3});
    CHECK(opt->lr() == 1e-3);
  }
}
