package finding

import "encoding/json"

// Resource is the finding's resource block. Which detail objects are set
// depends on ResourceType, and a resource can carry several (an S3 finding
// has the bucket and the access key that acted on it; a runtime finding on a
// container has the container and the instance it runs on).
type Resource struct {
	ResourceType          string                 `json:"resourceType"`
	InstanceDetails       *InstanceDetails       `json:"instanceDetails"`
	AccessKeyDetails      *AccessKeyDetails      `json:"accessKeyDetails"`
	S3BucketDetails       []S3BucketDetail       `json:"s3BucketDetails"`
	EKSClusterDetails     *EKSClusterDetails     `json:"eksClusterDetails"`
	KubernetesDetails     *KubernetesDetails     `json:"kubernetesDetails"`
	ECSClusterDetails     *ECSClusterDetails     `json:"ecsClusterDetails"`
	ContainerDetails      *Container             `json:"containerDetails"`
	RDSDBInstanceDetails  *RDSDBInstanceDetails  `json:"rdsDbInstanceDetails"`
	RDSLimitlessDBDetails *RDSLimitlessDBDetails `json:"rdsLimitlessDbDetails"`
	RDSDBUserDetails      *RDSDBUserDetails      `json:"rdsDbUserDetails"`
	LambdaDetails         *LambdaDetails         `json:"lambdaDetails"`
	EBSVolumeDetails      *EBSVolumeDetails      `json:"ebsVolumeDetails"`
	EBSSnapshotDetails    *ARNDetails            `json:"ebsSnapshotDetails"`
	EC2ImageDetails       *ARNDetails            `json:"ec2ImageDetails"`
	RecoveryPointDetails  *RecoveryPointDetails  `json:"recoveryPointDetails"`
}

// Tag is a resource tag as GuardDuty reports it.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// InstanceDetails describes an EC2 instance.
type InstanceDetails struct {
	InstanceID         string              `json:"instanceId"`
	InstanceType       string              `json:"instanceType"`
	InstanceState      string              `json:"instanceState"`
	AvailabilityZone   string              `json:"availabilityZone"`
	ImageID            string              `json:"imageId"`
	ImageDescription   string              `json:"imageDescription"`
	LaunchTime         Timestamp           `json:"launchTime"`
	OutpostARN         string              `json:"outpostArn"`
	Platform           string              `json:"platform"`
	IAMInstanceProfile *IAMInstanceProfile `json:"iamInstanceProfile"`
	NetworkInterfaces  []NetworkInterface  `json:"networkInterfaces"`
	ProductCodes       []ProductCode       `json:"productCodes"`
	Tags               []Tag               `json:"tags"`
}

// IAMInstanceProfile is the profile attached to an instance.
type IAMInstanceProfile struct {
	ARN string `json:"arn"`
	ID  string `json:"id"`
}

// ProductCode is a Marketplace product code of an instance.
type ProductCode struct {
	Code string `json:"productCodeId"`
	Type string `json:"productCodeType"`
}

// NetworkInterface is one of an instance's network interfaces.
type NetworkInterface struct {
	NetworkInterfaceID string             `json:"networkInterfaceId"`
	PrivateDNSName     string             `json:"privateDnsName"`
	PrivateIPAddress   string             `json:"privateIpAddress"`
	PrivateIPAddresses []PrivateIPAddress `json:"privateIpAddresses"`
	PublicDNSName      string             `json:"publicDnsName"`
	PublicIP           string             `json:"publicIp"`
	IPv6Addresses      []string           `json:"ipv6Addresses"`
	SecurityGroups     []SecurityGroup    `json:"securityGroups"`
	SubnetID           string             `json:"subnetId"`
	VPCID              string             `json:"vpcId"`
}

// PrivateIPAddress is a private address of a network interface.
type PrivateIPAddress struct {
	PrivateDNSName   string `json:"privateDnsName"`
	PrivateIPAddress string `json:"privateIpAddress"`
}

// SecurityGroup names a security group.
type SecurityGroup struct {
	GroupID   string `json:"groupId"`
	GroupName string `json:"groupName"`
}

// AccessKeyDetails names the AWS credentials involved: the key and the
// principal it belongs to.
type AccessKeyDetails struct {
	AccessKeyID string `json:"accessKeyId"`
	PrincipalID string `json:"principalId"`
	UserName    string `json:"userName"`
	UserType    string `json:"userType"` // IAMUser, Root, Role, AssumedRole, AWSService, FederatedUser …
}

// S3BucketDetail describes one bucket of an S3 finding.
type S3BucketDetail struct {
	ARN                         string                       `json:"arn"`
	Name                        string                       `json:"name"`
	Type                        string                       `json:"type"`
	CreatedAt                   Timestamp                    `json:"createdAt"`
	Owner                       *struct{ ID string }         `json:"owner"`
	Tags                        []Tag                        `json:"tags"`
	DefaultServerSideEncryption *DefaultServerSideEncryption `json:"defaultServerSideEncryption"`
	PublicAccess                *PublicAccess                `json:"publicAccess"`
	S3ObjectDetails             []S3ObjectDetail             `json:"s3ObjectDetails"`
}

// DefaultServerSideEncryption is a bucket's default encryption.
type DefaultServerSideEncryption struct {
	EncryptionType  string `json:"encryptionType"`
	KMSMasterKeyARN string `json:"kmsMasterKeyArn"`
}

// PublicAccess says whether a bucket is public and why. The permission
// configuration is kept raw: reflex reports it, it does not reason on it.
type PublicAccess struct {
	EffectivePermission     string          `json:"effectivePermission"` // PUBLIC or NOT_PUBLIC
	PermissionConfiguration json.RawMessage `json:"permissionConfiguration"`
}

// S3ObjectDetail names an object of a malware finding.
type S3ObjectDetail struct {
	ObjectARN string `json:"objectArn"`
	Key       string `json:"key"`
	ETag      string `json:"eTag"`
	Hash      string `json:"hash"`
	VersionID string `json:"versionId"`
}

// EKSClusterDetails describes an EKS cluster.
type EKSClusterDetails struct {
	Name      string    `json:"name"`
	ARN       string    `json:"arn"`
	VPCID     string    `json:"vpcId"`
	Status    string    `json:"status"`
	Tags      []Tag     `json:"tags"`
	CreatedAt Timestamp `json:"createdAt"`
}

// KubernetesDetails names the Kubernetes user and workload involved.
type KubernetesDetails struct {
	KubernetesUserDetails     *KubernetesUser     `json:"kubernetesUserDetails"`
	KubernetesWorkloadDetails *KubernetesWorkload `json:"kubernetesWorkloadDetails"`
}

// KubernetesUser is the user that made a Kubernetes API call.
type KubernetesUser struct {
	Username         string   `json:"username"`
	UID              string   `json:"uid"`
	Groups           []string `json:"groups"`
	SessionName      []string `json:"sessionName"`
	ImpersonatedUser *struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"impersonatedUser"`
}

// KubernetesWorkload is the pod, deployment … a finding concerns.
type KubernetesWorkload struct {
	Name               string      `json:"name"`
	Type               string      `json:"type"`
	UID                string      `json:"uid"`
	Namespace          string      `json:"namespace"`
	HostNetwork        bool        `json:"hostNetwork"`
	HostIPC            bool        `json:"hostIPC"`
	HostPID            bool        `json:"hostPID"`
	ServiceAccountName string      `json:"serviceAccountName"`
	Containers         []Container `json:"containers"`
}

// ECSClusterDetails describes an ECS cluster and the task involved.
type ECSClusterDetails struct {
	Name        string          `json:"name"`
	ARN         string          `json:"arn"`
	Status      string          `json:"status"`
	Tags        []Tag           `json:"tags"`
	TaskDetails *ECSTaskDetails `json:"taskDetails"`
}

// ECSTaskDetails is the ECS task of a finding.
type ECSTaskDetails struct {
	ARN           string      `json:"arn"`
	DefinitionARN string      `json:"definitionArn"`
	Version       string      `json:"version"`
	StartedBy     string      `json:"startedBy"`
	Group         string      `json:"group"`
	LaunchType    string      `json:"launchType"`
	Tags          []Tag       `json:"tags"`
	Containers    []Container `json:"containers"`
}

// Container is a container of a runtime, malware or Kubernetes finding.
type Container struct {
	ContainerRuntime string `json:"containerRuntime"`
	ID               string `json:"id"`
	Name             string `json:"name"`
	Image            string `json:"image"`
	ImagePrefix      string `json:"imagePrefix"`
	VolumeMounts     []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
	} `json:"volumeMounts"`
	SecurityContext *struct {
		Privileged               bool `json:"privileged"`
		AllowPrivilegeEscalation bool `json:"allowPrivilegeEscalation"`
	} `json:"securityContext"`
}

// RDSDBInstanceDetails describes an RDS database instance.
type RDSDBInstanceDetails struct {
	DBInstanceIdentifier string `json:"dbInstanceIdentifier"`
	DBClusterIdentifier  string `json:"dbClusterIdentifier"`
	DBInstanceARN        string `json:"dbInstanceArn"`
	DBIResourceID        string `json:"dbiResourceId"`
	Engine               string `json:"engine"`
	EngineVersion        string `json:"engineVersion"`
	Tags                 []Tag  `json:"tags"`
}

// RDSLimitlessDBDetails describes an Aurora Limitless shard group.
type RDSLimitlessDBDetails struct {
	DBShardGroupIdentifier string `json:"dbShardGroupIdentifier"`
	DBShardGroupResourceID string `json:"dbShardGroupResourceId"`
	DBShardGroupARN        string `json:"dbShardGroupArn"`
	DBClusterIdentifier    string `json:"dbClusterIdentifier"`
	Engine                 string `json:"engine"`
	EngineVersion          string `json:"engineVersion"`
	Tags                   []Tag  `json:"tags"`
}

// RDSDBUserDetails is the database user of an RDS login finding.
type RDSDBUserDetails struct {
	User        string `json:"user"`
	Application string `json:"application"`
	Database    string `json:"database"`
	SSL         string `json:"ssl"`
	AuthMethod  string `json:"authMethod"`
}

// LambdaDetails describes a Lambda function.
type LambdaDetails struct {
	FunctionARN     string    `json:"functionArn"`
	FunctionName    string    `json:"functionName"`
	FunctionVersion string    `json:"functionVersion"`
	Description     string    `json:"description"`
	LastModifiedAt  Timestamp `json:"lastModifiedAt"`
	RevisionID      string    `json:"revisionId"`
	Role            string    `json:"role"`
	Tags            []Tag     `json:"tags"`
	VPCConfig       *struct {
		VPCID          string          `json:"vpcId"`
		SubnetIDs      []string        `json:"subnetIds"`
		SecurityGroups []SecurityGroup `json:"securityGroups"`
	} `json:"vpcConfig"`
}

// EBSVolumeDetails lists the volumes a malware scan looked at.
type EBSVolumeDetails struct {
	ScannedVolumeDetails []VolumeDetail `json:"scannedVolumeDetails"`
	SkippedVolumeDetails []VolumeDetail `json:"skippedVolumeDetails"`
}

// VolumeDetail is one scanned or skipped EBS volume.
type VolumeDetail struct {
	VolumeARN      string `json:"volumeArn"`
	VolumeType     string `json:"volumeType"`
	DeviceName     string `json:"deviceName"`
	VolumeSizeInGB int64  `json:"volumeSizeInGB"`
	EncryptionType string `json:"encryptionType"`
	SnapshotARN    string `json:"snapshotArn"`
	KMSKeyARN      string `json:"kmsKeyArn"`
}

// ARNDetails is a detail object that only names a resource by ARN (EBS
// snapshots and AMIs of Malware Protection for Backup).
type ARNDetails struct {
	SnapshotARN string `json:"snapshotArn"`
	ImageARN    string `json:"imageArn"`
}

// RecoveryPointDetails names an AWS Backup recovery point.
type RecoveryPointDetails struct {
	RecoveryPointARN string `json:"recoveryPointArn"`
	BackupVaultName  string `json:"backupVaultName"`
}
