"""pip-installable pure-Python part of ethercat_master: the master core, the simulator and the
command-line tools, without ROS. The ROS 2 package (interfaces, node) is built with colcon
from package.xml and CMakeLists.txt beside this file."""

from setuptools import find_packages, setup

setup(
    name="ethercat_master",
    version="0.1.0",
    description="EtherCAT master in Python with a slave-chain simulator and a ROS 2 node",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["ethercat_master", "ethercat_master.*"]),
    install_requires=["numpy", "pyyaml"],
    extras_require={"test": ["pytest", "pytest-timeout", "hypothesis"], "plots": ["matplotlib"]},
    entry_points={
        "console_scripts": [
            "ethercat-master = ethercat_master.tools.cli:main",
            "ethercat-sim = ethercat_master.sim.cli:main",
            "mailbox_soak_demo = ethercat_master.tools.soak:main",
            "ethercat_master_node = ethercat_master.ros.main:main",
            "dc_soak_demo = ethercat_master.tools.dc_soak:main",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Operating System :: POSIX :: Linux",
        "Topic :: System :: Hardware",
    ],
)
