// A valid shared library that is not a janus plugin (exports no plugin symbols).
extern "C" int janus_test_not_a_plugin_answer() { return 42; }
