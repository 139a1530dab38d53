"""Seeds a moto (or LocalStack) endpoint with what a cluster's AWS account looks like to the aws provider.

A VPC with an Amazon-provided IPv6 block, public and private subnets in two AZs carrying the discovery tags
(kubernetes.io/role/elb=1 or role/internal-elb, and kubernetes.io/cluster/<name> = owned | shared), each with an IPv6
/64 of the VPC's block (dualstack NLBs need one), one IPv4-only subnet without discovery tags (only used when named,
e.g. to show a dualstack NLB refused there), a node security group tagged for the cluster, and one running EC2
instance per node standing in for the Kubernetes nodes. Idempotent: a VPC already tagged as this cluster's
seed is reused and only what is missing is added. Prints the seeded ids as JSON on stdout.

Usage: seed.py <endpoint> <region> <cluster> [node=ip@az-suffix ...]
"""

import ipaddress
import json
import sys

import boto3

endpoint, region, cluster = sys.argv[1:4]
nodes = sys.argv[4:] or ["node-a=10.0.0.10@a", "node-b=10.0.1.10@b", "node-c=10.0.0.11@a"]
ec2 = boto3.client(
    "ec2", endpoint_url=endpoint, region_name=region, aws_access_key_id="test", aws_secret_access_key="test"
)
SEED = "drawbridge.io/seed"
CLUSTER_TAG = f"kubernetes.io/cluster/{cluster}"


def tags(resource_type, *pairs):
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in pairs]}]


def one(items):
    return items[0] if items else None


vpc = one(ec2.describe_vpcs(Filters=[{"Name": f"tag:{SEED}", "Values": [cluster]}])["Vpcs"])
if vpc is None:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=tags("vpc", (SEED, cluster), ("Name", cluster)))[
        "Vpc"
    ]
vpc_id = vpc["VpcId"]


def vpc_ipv6_block():
    """The VPC's IPv6 block (a /56), associating an Amazon-provided one first if it has none."""
    current = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    for a in current.get("Ipv6CidrBlockAssociationSet", []):
        if a["Ipv6CidrBlockState"]["State"] == "associated":
            return a["Ipv6CidrBlock"]
    return ec2.associate_vpc_cidr_block(VpcId=vpc_id, AmazonProvidedIpv6CidrBlock=True)[
        "Ipv6CidrBlockAssociation"
    ]["Ipv6CidrBlock"]


def subnet_ipv6(index):
    """The index-th /64 of the VPC's /56."""
    net = ipaddress.IPv6Network(vpc_ipv6_block())
    return str(ipaddress.IPv6Network((int(net.network_address) + (index << 64), 64)))


subnets = {}
# Public subnets (role/elb, where nodes run) and private ones (role/internal-elb) for internal NLBs, as in a VPC
# laid out for EKS; the key is the seed.json name, its last letter the zone.
for index, (key, cidr, share, role) in enumerate(
    (
        ("a", "10.0.0.0/24", "owned", "kubernetes.io/role/elb"),
        ("b", "10.0.1.0/24", "shared", "kubernetes.io/role/elb"),
        ("private-a", "10.0.2.0/24", "owned", "kubernetes.io/role/internal-elb"),
        ("private-b", "10.0.3.0/24", "shared", "kubernetes.io/role/internal-elb"),
        ("ipv4only-a", "10.0.4.0/24", "shared", None),
    )
):
    az = f"{region}{key[-1]}"
    found = one(
        ec2.describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "cidr-block", "Values": [cidr]}]
        )["Subnets"]
    )
    if found is None:
        found = ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=cidr,
            AvailabilityZone=az,
            TagSpecifications=tags(
                "subnet", *([(role, "1")] if role else []), (CLUSTER_TAG, share), ("Name", f"{cluster}-{key}")
            ),
        )["Subnet"]
    # Not "== associated": moto reports a subnet block's state as the text of a dict ("{'State': 'associated'}").
    v6 = [
        a
        for a in found.get("Ipv6CidrBlockAssociationSet", [])
        if not any(w in str(a["Ipv6CidrBlockState"]["State"]) for w in ("disassociat", "fail"))
    ]
    if role and not v6:
        ec2.associate_subnet_cidr_block(SubnetId=found["SubnetId"], Ipv6CidrBlock=subnet_ipv6(index))
    subnets[key] = found["SubnetId"]

group_name = f"{cluster}-nodes"
sg = one(
    ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": [group_name]}]
    )["SecurityGroups"]
)
sg_id = (
    sg["GroupId"]
    if sg
    else ec2.create_security_group(
        GroupName=group_name,
        Description="Kubernetes nodes",
        VpcId=vpc_id,
        TagSpecifications=tags("security-group", (CLUSTER_TAG, "owned")),
    )["GroupId"]
)

image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
instances = {}
for spec in nodes:
    name, rest = spec.split("=")
    ip, suffix = rest.split("@")
    found = one(
        [
            i
            for r in ec2.describe_instances(
                Filters=[
                    {"Name": "tag:Name", "Values": [name]},
                    {"Name": "vpc-id", "Values": [vpc_id]},
                    {"Name": "instance-state-name", "Values": ["pending", "running"]},
                ]
            )["Reservations"]
            for i in r["Instances"]
        ]
    )
    if found is None:
        found = ec2.run_instances(
            ImageId=image,
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.medium",
            SubnetId=subnets[suffix],
            PrivateIpAddress=ip,
            SecurityGroupIds=[sg_id],
            TagSpecifications=tags("instance", ("Name", name), (CLUSTER_TAG, "owned")),
        )["Instances"][0]
    az = found["Placement"]["AvailabilityZone"]
    instances[name] = {"instanceId": found["InstanceId"], "ip": ip, "providerID": f"aws:///{az}/{found['InstanceId']}"}

json.dump(
    {"vpcId": vpc_id, "subnets": subnets, "nodeSecurityGroup": sg_id, "nodes": instances}, sys.stdout, indent=2
)
print()
