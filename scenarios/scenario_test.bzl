"""One bazel test per scenario file: `xfsim check` on it."""

def scenario_tests(name, srcs):
    tests = []
    for src in srcs:
        test_name = src[:-len(".json")].replace("/", "_")
        native.sh_test(
            name = test_name,
            size = "medium",
            srcs = ["//scenarios:run_check.sh"],
            args = ["$(location //harness:xfsim)", "$(location %s)" % src],
            data = ["//harness:xfsim", src],
        )
        tests.append(":" + test_name)
    native.test_suite(name = name, tests = tests)
