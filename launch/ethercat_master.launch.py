"""Launch the lifecycle node ``ethercat_master`` on real hardware (or any link), configured and
activated automatically.

::

    ros2 launch ethercat_master ethercat_master.launch.py config_file:=/path/to/network.yaml
    ros2 launch ethercat_master ethercat_master.launch.py config_file:=net.yaml interface:=eth1 \\
        realtime_priority:=80 diagnostics_aggregator:=true
    ros2 launch ethercat_master ethercat_master.launch.py --show-args

Arguments (the node's parameters are described in docs/ros.md):

    config_file             the network description (default: the installed
                            config/network_template.yaml, which names eth0: copy and edit it)
    interface               overrides the file's interface: eth1, raw:eth1, udp:HOST:PORT,
                            sim:CHAIN.yaml ('' keeps the file's)
    autostart               true: configure, then activate once configured (default true);
                            false: the node waits in 'unconfigured' for its lifecycle services
    realtime_priority       SCHED_FIFO priority of the cycle thread, 0..99 (0: normal scheduling)
    publish_rate            Hz of ~/inputs, ~/state and joint_states
    diagnostics_rate        Hz of /diagnostics
    cycle_period            seconds; 0 keeps the file's cycle_period
    frame_timeout           seconds the bus waits for a frame's reply
    enable_drives           enable the CiA 402 drives on activate
    diagnostics_aggregator  true: also run diagnostic_aggregator with
                            config/diagnostic_analyzers.yaml (for rqt_robot_monitor)
    log_level               the node's log level (debug, info, warn, error)

Autostart activates only after a successful *configure* (the handler matches the transition
configuring -> inactive), so a later ``deactivate`` (active -> deactivating -> inactive) is not
undone by this launch file. A failed transition is logged here; the reason is in the node's
log and in its ``/diagnostics`` master status.

Every node parameter given here has the node's own default (test/launch/test_launch_files.py
holds the two together), so leaving an argument out means the node's default.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, LogInfo, RegisterEventHandler
from launch.conditions import IfCondition
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare
from lifecycle_msgs.msg import Transition

PACKAGE = 'ethercat_master'
#: The node executable the package installs in lib/ethercat_master (scripts/ethercat_master_node).
EXECUTABLE = 'ethercat_master_node'
NODE_NAME = 'ethercat_master'

#: The node's parameters this launch file passes: name -> (type, default, description).
#: The defaults are the node's own (ethercat_master/ros/node.py, EtherCATMasterNode.__init__).
NODE_ARGUMENTS = {
    'interface': (str, '', "overrides the network file's interface: eth1, raw:eth1, "
                           "udp:HOST:PORT, sim:CHAIN.yaml ('' keeps the file's)"),
    'realtime_priority': (int, '0', 'SCHED_FIFO priority of the cycle thread, 0..99; '
                                    '0: normal scheduling (needs CAP_SYS_NICE or root)'),
    'publish_rate': (float, '100.0', 'Hz of ~/inputs, ~/state and joint_states (1..1000)'),
    'diagnostics_rate': (float, '1.0', 'Hz of /diagnostics and the slave checks (0.1..10)'),
    'cycle_period': (float, '0.0', "seconds; 0 keeps the network file's cycle_period"),
    'frame_timeout': (float, '0.05', "seconds the bus waits for a frame's reply (0.0005..5)"),
    'enable_drives': (bool, 'true', 'enable the CiA 402 drives on activate (holding position)'),
}


def generate_launch_description():
    share = FindPackageShare(PACKAGE)
    arguments = [
        DeclareLaunchArgument(
            'config_file',
            default_value=PathJoinSubstitution([share, 'config', 'network_template.yaml']),
            description='the network description (YAML); the default template names eth0: '
                        'copy it and describe your bus'),
        DeclareLaunchArgument(
            'autostart', default_value='true', choices=['true', 'false'],
            description='configure and activate the node at once'),
        DeclareLaunchArgument(
            'diagnostics_aggregator', default_value='false', choices=['true', 'false'],
            description='also run diagnostic_aggregator with config/diagnostic_analyzers.yaml'),
        DeclareLaunchArgument(
            'log_level', default_value='info', description="the node's log level"),
    ]
    arguments += [DeclareLaunchArgument(name, default_value=default, description=description)
                  for name, (_, default, description) in NODE_ARGUMENTS.items()]

    parameters = {'config_file': ParameterValue(LaunchConfiguration('config_file'), value_type=str)}
    parameters.update({name: ParameterValue(LaunchConfiguration(name), value_type=value_type)
                       for name, (value_type, _, _) in NODE_ARGUMENTS.items()})
    node = LifecycleNode(
        package=PACKAGE,
        executable=EXECUTABLE,
        name=NODE_NAME,
        namespace='',
        output='screen',
        parameters=[parameters],
        arguments=['--ros-args', '--log-level', LaunchConfiguration('log_level')],
    )

    autostart = IfCondition(LaunchConfiguration('autostart'))
    configure = EmitEvent(
        event=ChangeState(lifecycle_node_matcher=matches_action(node),
                          transition_id=Transition.TRANSITION_CONFIGURE),
        condition=autostart)
    activate_when_configured = RegisterEventHandler(
        OnStateTransition(
            target_lifecycle_node=node, start_state='configuring', goal_state='inactive',
            entities=[
                LogInfo(msg='ethercat_master configured: activating'),
                EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node),
                                            transition_id=Transition.TRANSITION_ACTIVATE)),
            ]),
        condition=autostart)
    report_failures = [
        RegisterEventHandler(OnStateTransition(
            target_lifecycle_node=node, start_state=start, goal_state=goal,
            entities=[LogInfo(msg=f'ethercat_master: {what} failed; the reason is in the node log '
                                  'and in /diagnostics ("ethercat_master: master")')]))
        for start, goal, what in (('configuring', 'unconfigured', 'configure'),
                                  ('activating', 'inactive', 'activate'),
                                  ('errorprocessing', 'unconfigured', 'a transition'))
    ]

    aggregator = Node(
        package='diagnostic_aggregator',
        executable='aggregator_node',
        output='screen',
        parameters=[PathJoinSubstitution([share, 'config', 'diagnostic_analyzers.yaml'])],
        condition=IfCondition(LaunchConfiguration('diagnostics_aggregator')),
    )

    return LaunchDescription(arguments + [node, activate_when_configured, *report_failures,
                                          configure, aggregator])
