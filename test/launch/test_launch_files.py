"""The launch files against the node and the simulator they start, without ROS 2's ``launch``
packages (not installable here): the files compile, define ``generate_launch_description``,
and, run against stand-ins for the launch API that record every call, pass only parameters the
node declares (ethercat_master/ros/node.py, read with ``ast``) with the node's own types and
defaults, name the executable and node the package installs, configure and activate
automatically, and start the simulator with options its command line really has. So the launch
files cannot drift from the node or the simulator unnoticed; the launch_testing tests beside
this file run them for real where ROS 2 is complete."""

from __future__ import annotations

import ast
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAUNCH_DIR = ROOT / "launch"
NODE_SOURCE = ROOT / "ethercat_master" / "ros" / "node.py"
MAIN_LAUNCH = LAUNCH_DIR / "ethercat_master.launch.py"
SIM_LAUNCH = LAUNCH_DIR / "sim.launch.py"
LAUNCH_FILES = sorted(LAUNCH_DIR.glob("*.launch.py"))
PACKAGE, EXECUTABLE, NODE_NAME = "ethercat_master", "ethercat_master_node", "ethercat_master"

#: The modules the launch files import from, replaced by recording stand-ins.
STUBBED = ("launch", "launch.actions", "launch.conditions", "launch.events", "launch.event_handlers",
           "launch.launch_description_sources", "launch.substitutions", "launch_ros", "launch_ros.actions",
           "launch_ros.event_handlers", "launch_ros.events", "launch_ros.events.lifecycle",
           "launch_ros.parameter_descriptions", "launch_ros.substitutions")


# ----------------------------------------------------------------------------- stand-ins
class Call:
    """One call of a launch API class: its name, positional and keyword arguments."""

    def __init__(self, kind: str, args: tuple, kwargs: dict) -> None:
        self.kind, self.args, self.kwargs = kind, args, kwargs

    def arg(self, name: str, position: int) -> Any:
        return self.kwargs[name] if name in self.kwargs else self.args[position]

    def __repr__(self) -> str:
        return f"{self.kind}{self.args}{self.kwargs}"


class _Factory:
    def __init__(self, name: str) -> None:
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Call:
        return Call(self._name, args, kwargs)

    def __getattr__(self, attribute: str) -> str:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return f"{self._name}.{attribute}"


class _StubModule(types.ModuleType):
    def __getattr__(self, name: str) -> _Factory:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Factory(name)


@pytest.fixture
def load_launch(monkeypatch):
    """Load a launch file against the stand-ins; returns its module."""
    for name in STUBBED:
        monkeypatch.setitem(sys.modules, name, _StubModule(name))
    if importlib.util.find_spec("lifecycle_msgs") is None:  # a plain venv without ROS
        lifecycle = _StubModule("lifecycle_msgs.msg")
        lifecycle.Transition = types.SimpleNamespace(TRANSITION_CONFIGURE=1, TRANSITION_ACTIVATE=3)
        monkeypatch.setitem(sys.modules, "lifecycle_msgs", _StubModule("lifecycle_msgs"))
        monkeypatch.setitem(sys.modules, "lifecycle_msgs.msg", lifecycle)

    def load(path: Path) -> types.ModuleType:
        spec = importlib.util.spec_from_file_location(f"launch_file_{path.stem.replace('.', '_')}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


def walk(value: Any, seen: Optional[set[int]] = None) -> Iterator[Call]:
    """Every Call in value once, depth first (through lists, tuples, dicts and dict views; an
    action that handlers refer to again, such as the node, counts once)."""
    seen = set() if seen is None else seen
    if isinstance(value, Call):
        if id(value) in seen:
            return
        seen.add(id(value))
        yield value
        for item in (*value.args, *value.kwargs.values()):
            yield from walk(item, seen)
    elif isinstance(value, dict):
        for item in value.values():
            yield from walk(item, seen)
    elif isinstance(value, (list, tuple, type({}.items()))):
        for item in value:
            yield from walk(item, seen)


def calls(value: Any, kind: str) -> list[Call]:
    return [call for call in walk(value) if call.kind == kind]


def declared_arguments(description: Call) -> dict[str, Any]:
    return {call.arg("name", 0): call.kwargs.get("default_value") for call in calls(description, "DeclareLaunchArgument")}


def configuration_name(value: Any) -> str:
    assert isinstance(value, Call) and value.kind == "LaunchConfiguration", value
    return value.args[0]


# ------------------------------------------------------------------------ node parameters
def node_parameters() -> dict[str, dict[str, Any]]:
    """The parameters EtherCATMasterNode declares: its ``self._declare(name, default, ...)`` calls."""
    tree = ast.parse(NODE_SOURCE.read_text(encoding="utf-8"))
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "_declare" \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "self":
            keywords = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
            found[ast.literal_eval(node.args[0])] = {"default": ast.literal_eval(node.args[1]), **keywords}
    return found


def test_the_node_source_declares_the_parameters_the_launch_files_rely_on() -> None:
    parameters = node_parameters()
    assert {"config_file", "interface", "realtime_priority", "publish_rate"} <= set(parameters)
    assert parameters["interface"]["default"] == "" and parameters["interface"].get("read_only")


# --------------------------------------------------------------------------- every file
@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_a_launch_file_compiles_and_defines_generate_launch_description(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    tree = compile(source, str(path), "exec", flags=ast.PyCF_ONLY_AST)
    compile(tree, str(path), "exec")
    functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert "generate_launch_description" in functions


def test_both_launch_files_exist() -> None:
    assert {p.name for p in LAUNCH_FILES} >= {"ethercat_master.launch.py", "sim.launch.py"}


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_every_launch_configuration_used_is_declared(load_launch, path: Path) -> None:
    description = load_launch(path).generate_launch_description()
    declared = set(declared_arguments(description))
    if path != MAIN_LAUNCH:  # sim.launch.py includes the main file, whose arguments it inherits
        declared |= set(declared_arguments(load_launch(MAIN_LAUNCH).generate_launch_description()))
    used = {configuration_name(call) for call in calls(description, "LaunchConfiguration")}
    assert used <= declared, f"undeclared launch arguments: {sorted(used - declared)}"


# ------------------------------------------------------------------ ethercat_master.launch.py
def _coerce(text: str, value_type: type) -> Any:
    if value_type is bool:
        assert text in ("true", "false"), text
        return text == "true"
    return value_type(text)


def test_the_main_launch_file_starts_the_installed_lifecycle_node(load_launch) -> None:
    description = load_launch(MAIN_LAUNCH).generate_launch_description()
    (node,) = calls(description, "LifecycleNode")
    assert node.kwargs["package"] == PACKAGE and node.kwargs["executable"] == EXECUTABLE
    assert node.kwargs["name"] == NODE_NAME and node.kwargs["namespace"] == ""


def test_the_main_launch_file_passes_only_declared_parameters_with_the_nodes_types_and_defaults(load_launch) -> None:
    description = load_launch(MAIN_LAUNCH).generate_launch_description()
    (node,) = calls(description, "LifecycleNode")
    (parameters,) = node.kwargs["parameters"]
    declared_by_node = node_parameters()
    arguments = declared_arguments(description)
    assert set(parameters) <= set(declared_by_node), f"not parameters of the node: {set(parameters) - set(declared_by_node)}"
    assert {"config_file", "interface", "realtime_priority", "publish_rate"} <= set(parameters)
    for name, value in parameters.items():
        assert value.kind == "ParameterValue" and configuration_name(value.args[0]) == name
        node_default = declared_by_node[name]["default"]
        value_type = value.kwargs["value_type"]
        assert value_type is type(node_default), f"{name}: launch passes {value_type.__name__}, " \
                                                 f"the node declares {type(node_default).__name__}"
        if name != "config_file":
            assert _coerce(arguments[name], value_type) == node_default, f"{name}: default differs from the node's"


def test_the_default_config_file_is_the_installed_template(load_launch) -> None:
    description = load_launch(MAIN_LAUNCH).generate_launch_description()
    default = declared_arguments(description)["config_file"]
    assert default.kind == "PathJoinSubstitution"
    share, *parts = default.args[0]
    assert share.kind == "FindPackageShare" and share.args == (PACKAGE,)
    assert parts == ["config", "network_template.yaml"] and (ROOT.joinpath(*parts)).is_file()


def test_the_main_launch_file_configures_then_activates_when_autostart(load_launch) -> None:
    from lifecycle_msgs.msg import Transition

    description = load_launch(MAIN_LAUNCH).generate_launch_description()
    arguments = declared_arguments(description)
    assert arguments["autostart"] == "true" and arguments["diagnostics_aggregator"] == "false"
    (node,) = calls(description, "LifecycleNode")
    top_level = description.args[0]
    configure = [c for c in top_level if c.kind == "EmitEvent"
                 and c.kwargs["event"].kwargs["transition_id"] == Transition.TRANSITION_CONFIGURE]
    assert len(configure) == 1 and configure[0].kwargs["condition"].kind == "IfCondition"
    assert configuration_name(configure[0].kwargs["condition"].args[0]) == "autostart"
    activations = [h for h in calls(description, "OnStateTransition")
                   if any(c.kwargs.get("transition_id") == Transition.TRANSITION_ACTIVATE for c in walk(h))]
    assert len(activations) == 1
    handler = activations[0]
    # only after a successful configure: a deactivate (activating... -> inactive) is not undone
    assert handler.kwargs["goal_state"] == "inactive" and handler.kwargs["start_state"] == "configuring"
    assert handler.kwargs["target_lifecycle_node"] is node
    # the handler is registered before the configure event is emitted
    kinds = [c.kind for c in top_level]
    assert top_level.index(configure[0]) > max(i for i, k in enumerate(kinds) if k == "RegisterEventHandler")
    assert top_level.index(node) < top_level.index(configure[0])


def test_the_optional_aggregator_reads_the_analyzer_file(load_launch) -> None:
    description = load_launch(MAIN_LAUNCH).generate_launch_description()
    (aggregator,) = [c for c in calls(description, "Node") if c.kwargs.get("package") == "diagnostic_aggregator"]
    assert aggregator.kwargs["executable"] == "aggregator_node"
    assert configuration_name(aggregator.kwargs["condition"].args[0]) == "diagnostics_aggregator"
    (path,) = aggregator.kwargs["parameters"]
    share, *parts = path.args[0]
    assert share.kind == "FindPackageShare" and (ROOT.joinpath(*parts)).is_file()


def test_the_executable_is_installed_when_the_scripts_exist() -> None:
    script = ROOT / "scripts" / EXECUTABLE
    if not script.exists():
        pytest.skip(f"scripts/{EXECUTABLE} is not in the tree yet (CMakeLists.txt installs scripts/* "
                    "to lib/ethercat_master)")
    assert "ethercat_master.ros" in script.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- sim.launch.py
def _includes(description: Call) -> list[Call]:
    return calls(description, "IncludeLaunchDescription")


def _udp_handler(description: Call) -> Call:
    (handler,) = calls(description, "OnProcessIO")
    return handler


def test_sim_includes_the_main_launch_file_with_its_own_arguments(load_launch) -> None:
    module = load_launch(SIM_LAUNCH)
    description = module.generate_launch_description()
    main_arguments = set(declared_arguments(load_launch(MAIN_LAUNCH).generate_launch_description()))
    (in_process,) = _includes(description)
    (source,) = in_process.args
    assert Path(source.args[0]) == MAIN_LAUNCH
    launch_arguments = dict(in_process.kwargs["launch_arguments"])
    assert set(launch_arguments) <= main_arguments
    assert launch_arguments["interface"] == ""  # the network file's sim:sim_chain.yaml
    assert in_process.kwargs["condition"].kind == "LaunchConfigurationNotEquals"
    default = declared_arguments(description)["config_file"]
    _, *parts = default.args[0]
    network = ROOT.joinpath(*parts)
    assert parts[-1] == "network_sim.yaml" and "interface: sim:" in network.read_text(encoding="utf-8")


def test_sim_runs_the_simulator_with_options_its_command_line_has(load_launch) -> None:
    from ethercat_master.sim import cli

    description = load_launch(SIM_LAUNCH).generate_launch_description()
    arguments = declared_arguments(description)
    (simulator,) = calls(description, "ExecuteProcess")
    assert simulator.kwargs["condition"].kind == "LaunchConfigurationEquals"
    python, flag, module, *options = simulator.kwargs["cmd"]
    assert python == sys.executable and flag == "-m" and importlib.util.find_spec(module) is not None
    assert module == cli.__name__

    def text(value: Any) -> str:
        if isinstance(value, list):
            return "".join(text(v) for v in value)
        if isinstance(value, Call) and value.kind == "LaunchConfiguration":
            default = arguments[value.args[0]]
            if isinstance(default, Call):  # FindPackageShare/config/FILE: the file in the tree
                return str(ROOT.joinpath(*default.args[0][1:]))
            return default
        assert isinstance(value, str), value
        return value

    parsed = cli._parser().parse_args([text(option) for option in options])
    assert parsed.udp == ("127.0.0.1", 34980) and parsed.interface is None
    assert parsed.chain.is_file() and parsed.chain.name == "sim_chain.yaml"


def test_sim_starts_the_node_once_the_simulator_serves(load_launch) -> None:
    from ethercat_master.sim import cli

    module = load_launch(SIM_LAUNCH)
    description = module.generate_launch_description()
    assert module.SIM_READY == f"{cli.PROGRAM}: ".encode()
    on_stdout = _udp_handler(description).kwargs["on_stdout"]
    event = lambda text: types.SimpleNamespace(text=text)  # noqa: E731
    assert on_stdout(event(b"some other output\n")) is None
    started = on_stdout(event(b"ethercat-sim: 8 slaves (EK1100, ...) on udp:127.0.0.1:34980, no faults\n"))
    (include,) = [c for c in started if c.kind == "IncludeLaunchDescription"]
    interface = dict(include.kwargs["launch_arguments"])["interface"]
    assert interface[0] == "udp:" and interface[2] == ":"
    assert [configuration_name(interface[1]), configuration_name(interface[3])] == ["udp_host", "udp_port"]
    assert on_stdout(event(b"ethercat-sim: again\n")) is None  # one node, however often it prints


def test_the_simulators_first_line_is_what_sim_launch_waits_for() -> None:
    from ethercat_master.sim import cli
    from ethercat_master.sim.chain_config import load_chain

    loaded = load_chain(ROOT / "config" / "sim_chain.yaml")
    line = cli._summary(loaded, [types.SimpleNamespace(name="udp:127.0.0.1:34980")])
    assert line.startswith(f"{cli.PROGRAM}: ")


def test_the_udp_interface_sim_launch_builds_is_one_the_node_accepts() -> None:
    pytest.importorskip("rclpy", reason="rclpy is not installed: run in the project venv")
    pytest.importorskip("ethercat_master.msg", reason="the interfaces are not built: ./dev setup")
    from ethercat_master.config.network import LinkKind
    from ethercat_master.ros.node import link_spec

    spec = link_spec("udp:127.0.0.1:34980")
    assert (spec.kind, spec.target, spec.port) == (LinkKind.UDP, "127.0.0.1", 34980)
