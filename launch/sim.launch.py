"""Launch the node ``ethercat_master`` on the simulated drive chain (config/network_sim.yaml:
an EK1100 with EL1008, EL2008, EL3102 and four CiA 402 drives, joints joint1..joint4),
configured and activated automatically. No root and no network interface are needed.

::

    ros2 launch ethercat_master sim.launch.py                      # simulator in the node's process
    ros2 launch ethercat_master sim.launch.py transport:=udp       # simulator as its own process,
                                                                   # EtherCAT over UDP on 127.0.0.1
    ros2 launch ethercat_master sim.launch.py transport:=udp udp_port:=35000 publish_rate:=50.0

Arguments:

    transport   inprocess (default): the node runs the simulator itself (the network file's
                ``interface: sim:sim_chain.yaml``).
                udp: ``python -m ethercat_master.sim.cli --chain CHAIN --udp HOST:PORT`` runs as
                a separate process and the node talks to it with ``interface:=udp:HOST:PORT``;
                the node starts once the simulator has opened its socket (its first line of
                output), and the launch shuts down if the simulator exits.
    config_file the network description (default: the installed config/network_sim.yaml)
    chain       the simulator's chain file for transport:=udp (default: the installed
                config/sim_chain.yaml, the chain network_sim.yaml describes)
    udp_host    address the simulator serves on (default 127.0.0.1)
    udp_port    its UDP port (default 34980 = 0x88A4)

Every argument of ethercat_master.launch.py (autostart, realtime_priority, publish_rate,
diagnostics_aggregator, ...) is accepted too: this file includes it for the node.
"""

import os
import sys

from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, EmitEvent, ExecuteProcess, IncludeLaunchDescription,
                            LogInfo, RegisterEventHandler)
from launch.conditions import LaunchConfigurationEquals, LaunchConfigurationNotEquals
from launch.event_handlers import OnProcessExit, OnProcessIO
from launch.events import Shutdown
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

PACKAGE = 'ethercat_master'
#: The launch file for the node (beside this one, in the source tree and when installed).
NODE_LAUNCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ethercat_master.launch.py')
#: The simulator's first line of output, printed once its links are open (ethercat_master/sim/cli.py).
SIM_READY = b'ethercat-sim: '


def _node(interface, condition=None):
    """The node, through ethercat_master.launch.py, with this interface override."""
    return IncludeLaunchDescription(
        PythonLaunchDescriptionSource(NODE_LAUNCH),
        launch_arguments={'config_file': LaunchConfiguration('config_file'),
                          'interface': interface}.items(),
        condition=condition)


def generate_launch_description():
    share = FindPackageShare(PACKAGE)
    arguments = [
        DeclareLaunchArgument(
            'transport', default_value='inprocess', choices=['inprocess', 'udp'],
            description='inprocess: the simulator runs inside the node; udp: as its own process '
                        'serving EtherCAT over UDP'),
        DeclareLaunchArgument(
            'config_file', default_value=PathJoinSubstitution([share, 'config', 'network_sim.yaml']),
            description='the network description of the simulated chain'),
        DeclareLaunchArgument(
            'chain', default_value=PathJoinSubstitution([share, 'config', 'sim_chain.yaml']),
            description='the chain file the simulator process serves (transport:=udp)'),
        DeclareLaunchArgument('udp_host', default_value='127.0.0.1',
                              description='address the simulator serves on (transport:=udp)'),
        DeclareLaunchArgument('udp_port', default_value='34980',
                              description='UDP port of the simulator (transport:=udp)'),
    ]
    udp = LaunchConfigurationEquals('transport', 'udp')

    # transport:=inprocess -- the network file's own interface (sim:sim_chain.yaml)
    in_process = _node('', condition=LaunchConfigurationNotEquals('transport', 'udp'))

    # transport:=udp -- the simulator process first, the node once it serves
    simulator = ExecuteProcess(
        name='ethercat_sim',
        cmd=[sys.executable, '-m', 'ethercat_master.sim.cli',
             '--chain', LaunchConfiguration('chain'),
             '--udp', [LaunchConfiguration('udp_host'), ':', LaunchConfiguration('udp_port')]],
        additional_env={'PYTHONUNBUFFERED': '1'},
        output='screen',
        condition=udp,
    )
    started = []

    def when_serving(event):
        if started or SIM_READY not in event.text:
            return None
        started.append(True)
        return [LogInfo(msg='simulator serving: starting ethercat_master'),
                _node(['udp:', LaunchConfiguration('udp_host'), ':', LaunchConfiguration('udp_port')])]

    start_node = RegisterEventHandler(OnProcessIO(target_action=simulator, on_stdout=when_serving),
                                      condition=udp)
    stop_with_simulator = RegisterEventHandler(
        OnProcessExit(target_action=simulator, on_exit=[
            LogInfo(msg='the simulator exited: shutting down'),
            EmitEvent(event=Shutdown(reason='the EtherCAT simulator exited')),
        ]),
        condition=udp)

    return LaunchDescription(arguments + [in_process, start_node, stop_with_simulator, simulator])
