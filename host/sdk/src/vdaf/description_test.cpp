#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>

#include "janus/vdaf_registry.h"

namespace janus {
namespace {

TEST(VdafDescription, JanusDatabaseForm) {
  EXPECT_EQ(vdaf_to_json(VdafDescription{"Prio3Count"}), "Prio3Count");
  EXPECT_EQ(vdaf_to_json(VdafDescription{"Prio3Sum", {{"bits", 16}}}).dump(),
            R"({"Prio3Sum":{"bits":16}})");
  auto parsed =
      vdaf_from_json(nlohmann::json::parse(R"({"Prio3Histogram":{"length":4,"chunk_length":2}})"));
  EXPECT_EQ(parsed.name, "Prio3Histogram");
  EXPECT_EQ(parsed.parameters["length"], 4);
  EXPECT_EQ(vdaf_from_json("Prio3Count").name, "Prio3Count");
  EXPECT_THROW(vdaf_from_json(nlohmann::json::parse("[1]")), std::invalid_argument);
  EXPECT_THROW(vdaf_from_json(nlohmann::json::parse(R"({"a":{},"b":{}})")), std::invalid_argument);
}

TEST(VdafDescription, JanusYamlForm) {
  auto count = vdaf_from_yaml(YAML::Load("Prio3Count"));
  EXPECT_EQ(count.name, "Prio3Count");
  EXPECT_TRUE(count.parameters.empty());

  auto sum_vec =
      vdaf_from_yaml(YAML::Load("!Prio3SumVec {bits: 1, length: 100, chunk_length: 10, "
                                "dp_strategy: {dp_strategy: NoDifferentialPrivacy}}"));
  EXPECT_EQ(sum_vec.name, "Prio3SumVec");
  EXPECT_EQ(sum_vec.parameters, nlohmann::json::parse(R"({"bits":1,"length":100,"chunk_length":10,
                                      "dp_strategy":{"dp_strategy":"NoDifferentialPrivacy"}})"));
  // YAML and database forms describe the same VDAF.
  EXPECT_EQ(vdaf_to_json(sum_vec), vdaf_to_json(vdaf_from_json(vdaf_to_json(sum_vec))));

  auto untagged = vdaf_from_yaml(YAML::Load("{Prio3Sum: {bits: 8}}"));
  EXPECT_EQ(untagged.name, "Prio3Sum");
  EXPECT_EQ(untagged.parameters["bits"], 8);
  // Quoted scalars stay strings (the VDAF then rejects them as parameters).
  EXPECT_EQ(vdaf_from_yaml(YAML::Load("!Prio3Sum {bits: '8'}")).parameters["bits"], "8");
}

TEST(VdafDescription, EveryVdafInJanusSampleTasksYamlParses) {
  const std::string path =
      std::string(JANUS_SHARED_DIR) + "/reference/janus-0.7-samples/tasks.yaml";
  YAML::Node tasks = YAML::LoadFile(path);
  ASSERT_TRUE(tasks.IsSequence());
  ASSERT_GT(tasks.size(), 0u);
  for (const auto& task : tasks) {
    auto description = vdaf_from_yaml(task["vdaf"]);
    EXPECT_EQ(description.name.rfind("Prio3", 0), 0u) << description.name;
  }
}

TEST(VdafDescription, MalformedYamlIsAnErrorNamingTheLine) {
  for (const char* bad : {"[1, 2]", "{a: 1, b: 2}", "!Prio3Sum 8", "''"}) {
    try {
      vdaf_from_yaml(YAML::Load(std::string("\n") + bad));
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace janus
